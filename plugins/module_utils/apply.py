# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry out a plan with docker-py: networks, pulls, recoveries, removals, then containers wave by wave.

A failure is confined to its container (and the containers that depend on it); the others still
converge. A replacement keeps the old container, stopped and renamed, until the new one is ready; if
the new one does not become ready, it is removed and the old one comes back (rollback). Containers
marked ``update.rolling`` are replaced one at a time, and none after the first failure.
"""

from __future__ import annotations

import time

from . import dockerspec, schema
from .observe import APIError, DockerException, NotFound, pool_map

ENGINE_ERRORS = (APIError, DockerException, OSError)
LOG_LINES = 10
READY_POLL = 0.25
DEFAULT_READY_TIMEOUT = 120


class Outcome:
    def __init__(self, ready_timeout=DEFAULT_READY_TIMEOUT):
        self.done = []  # actions carried out (plan entries, possibly with "error")
        self.errors = {}  # container name -> reason
        self.warnings = []
        self.touched = set()  # container names whose state changed
        self.replaced_images = set()  # image ids that replacements moved away from
        self.deadline = time.monotonic() + ready_timeout  # bounds every readiness wait of the run
        self._rolling_failed = None

    def rolling(self, replace, name):
        """Run a rolling replacement (callers run these one at a time). Returns the error (None on
        success), or False when it was skipped because an earlier rolling replacement failed."""
        if self._rolling_failed:
            self.warnings.append("%r was not replaced: rolling updates stopped after %r failed; it keeps running its current version"
                                 % (name, self._rolling_failed))
            return False
        error = _catch(replace)
        if error is not None:
            self._rolling_failed = name
        return error


def describe(exc):
    """An engine error as text: the daemon's own explanation when it gave one."""
    text = (getattr(exc, "explanation", None) or str(exc)).strip()
    return text or type(exc).__name__


def apply_plan(api, plan, observed, scope, cleanup="managed", ready_timeout=DEFAULT_READY_TIMEOUT):
    outcome = Outcome(ready_timeout)
    outcome.errors.update(plan.errors)
    by_kind = {}
    for action in plan.actions:
        by_kind.setdefault(action["action"], []).append(action)

    for action in by_kind.get("network", []):
        _run(outcome, action, lambda a: api.create_network(
            a["network"], driver="bridge", labels={dockerspec.MANAGED: "true", dockerspec.SCOPE: scope}))

    failed_images = {}
    pulled = {}
    for action, result in zip(by_kind.get("pull", []), pool_map(lambda a: _pull(api, a["image"]), by_kind.get("pull", []))):
        if isinstance(result, Exception):
            failed_images[action["image"]] = describe(result)
            present = observed.images.get(action["image"]) is not None
            if present:
                outcome.warnings.append("pull of %s failed (%s); containers keep running the local image" % (action["image"], failed_images[action["image"]]))
            else:
                outcome.done.append(dict(action, error=failed_images[action["image"]]))
        else:
            pulled[action["image"]] = result
            outcome.done.append(action)

    for action in by_kind.get("recover", []):
        _run(outcome, action, lambda a: api.rename(a["target"]["id"], a["container"]))

    removals = by_kind.get("remove", [])
    for action, error in zip(removals, pool_map(lambda a: _catch(_remove, api, a["target"]), removals)):
        _record(outcome, action, error)

    per_container = {}
    for action in plan.actions:
        if action["action"] in ("create", "replace", "update", "start"):
            per_container.setdefault(action["container"], []).append(action)
    for wave in schema.dependency_order([actions[0]["definition"] for actions in per_container.values()]):
        # Independent containers converge concurrently; rolling replacements go one at a time, in order.
        rolling = [d for d in wave if d["rolling"] and any(a["action"] == "replace" for a in per_container[d["name"]])]
        lanes = [[d] for d in wave if d not in rolling] + ([rolling] if rolling else [])
        pool_map(lambda lane: [_converge_one(api, scope, per_container[d["name"]], observed, pulled, failed_images, outcome)
                               for d in lane], lanes)

    if cleanup == "managed":
        _remove_unused_images(api, outcome)
    elif cleanup == "host":
        _prune_host(api, outcome)
    return outcome


def _catch(function, *args, **kwargs):
    """The engine error ``function`` raised, or None."""
    try:
        function(*args, **kwargs)
    except ENGINE_ERRORS as exc:
        return exc
    return None


def _run(outcome, action, function):
    _record(outcome, action, _catch(function, action))


def _record(outcome, action, error):
    if error is None:
        outcome.done.append(action)
        outcome.touched.add(action["container"])
    else:
        outcome.done.append(dict(action, error=describe(error)))
        outcome.errors[action["container"]] = "%s failed: %s" % (action["action"], describe(error))


def _pull(api, ref):
    try:
        for line in api.pull(ref, stream=True, decode=True):
            if isinstance(line, dict) and line.get("error"):
                raise APIError(line["error"])
        return api.inspect_image(ref)["Id"]
    except ENGINE_ERRORS as exc:
        return exc


DEFAULT_STOP_TIMEOUT = 10


def _stop(api, container):
    """Stop gracefully, waiting the container's own stop timeout (docker-py's HTTP timeout grows with it)."""
    timeout = container.get("stop_timeout")
    api.stop(container["id"], timeout=DEFAULT_STOP_TIMEOUT if timeout is None else timeout)


def _remove(api, container):
    if container["status"] in ("running", "restarting", "paused"):
        _stop(api, container)
    try:
        api.remove_container(container["id"], v=False)
    except NotFound:
        pass


def _converge_one(api, scope, actions, observed, pulled, failed_images, outcome):
    definition = actions[0]["definition"]
    name = definition["name"]
    broken = sorted(d for d in schema.dependencies(definition) if d in outcome.errors)
    if broken:
        reason = "not converged: it depends on %s, which failed" % ", ".join(repr(b) for b in broken)
        outcome.errors[name] = reason
        for action in actions:
            outcome.done.append(dict(action, error=reason))
        return
    image = definition["image"]
    if image in failed_images and observed.images.get(image) is None:
        reason = "image %s is not on the host and could not be pulled: %s" % (image, failed_images[image])
        outcome.errors[name] = reason
        for action in actions:
            outcome.done.append(dict(action, error=reason))
        return
    for action in actions:
        kind = action["action"]
        if kind == "replace" and not _replacement_needed(action, pulled, failed_images):
            if action["target"]["status"] in ("created", "exited"):
                _record(outcome, dict(action, action="start", reasons=["not running"]), _catch(api.start, action["target"]["id"]))
            continue
        if kind == "replace" and definition["rolling"]:
            error = outcome.rolling(lambda: _replace(api, action, scope, outcome), name)
            if error is False:
                continue  # halted: left on its current version
        elif kind == "create":
            error = _catch(_create_and_start, api, definition, scope, None)
        elif kind == "replace":
            error = _catch(_replace, api, action, scope, outcome)
        elif kind == "update":
            error = _catch(lambda: api.update_container(action["target"]["id"], **dockerspec.update_args(definition, action["fields"])))
        else:
            error = _catch(api.start, action["target"]["id"])
        _record(outcome, action, error)
        if error is not None:
            if kind == "replace":
                outcome.done.append({"action": "rollback", "container": name, "diff": None,
                                     "reasons": ["the replacement failed; the previous container was restored"]})
            return


def _replacement_needed(action, pulled, failed_images):
    """A replacement caused only by an image pull is dropped when the pull failed or changed nothing."""
    image = action["definition"]["image"]
    causes = action["causes"]
    if image in failed_images and causes <= {"image", "image-maybe"}:
        return False
    if causes == {"image-maybe"}:
        return pulled.get(image) not in (None, action["target"]["image_id"])
    return True


def _create(api, definition, scope, carried, name=None):
    args = dockerspec.create_args(api, definition, scope, carried)
    if name:
        args["name"] = name
    return api.create_container(**args)["Id"]


def _create_and_start(api, definition, scope, carried):
    container_id = _create(api, definition, scope, carried)
    api.start(container_id)
    return container_id


class NotReady(APIError):
    """The new container did not become ready; the message says why and shows its last log lines."""


def wait_ready(api, container_id, definition, deadline):
    """Wait until the container is ready: ``healthy`` when it has a health check, else still running
    after ``update.minReadySeconds``. Raises NotReady (exited, unhealthy, or the run's deadline passed)."""
    started = time.monotonic()
    while True:
        state = api.inspect_container(container_id)["State"]
        status = state.get("Status")
        health = (state.get("Health") or {}).get("Status")
        if status != "running":
            if definition["restart"] == "no" and status == "exited" and state.get("ExitCode") == 0:
                return  # a one-shot job that finished well
            raise NotReady("the new container is %s (exit code %s); last log lines:\n%s" % (
                status, state.get("ExitCode"), _last_logs(api, container_id)))
        if health == "healthy" or (health is None and time.monotonic() - started >= definition["min_ready_seconds"]):
            return
        if health == "unhealthy":
            probe = ((state.get("Health") or {}).get("Log") or [{}])[-1].get("Output", "").strip()
            raise NotReady("the new container is unhealthy (last check: %s); last log lines:\n%s" % (
                probe or "no output", _last_logs(api, container_id)))
        if time.monotonic() >= deadline:
            raise NotReady("the new container was not ready within the run's ready timeout (%s); last log lines:\n%s" % (
                "health: %s" % health if health else "running", _last_logs(api, container_id)))
        time.sleep(READY_POLL)


def _replace(api, action, scope, outcome):
    """Replace a container without losing it: the old one is kept, stopped and renamed (or, with
    ``update.eager``, still running) until the new one is ready; on failure the new one is removed and
    the old one restored. ``outcome.deadline`` bounds the readiness wait."""
    old = action["target"]
    definition = action["definition"]
    name = definition["name"]
    aside = "%s_dockerup_old_%s" % (name, old["id"][:12])
    was_running = old["status"] in ("running", "restarting")
    new_id = None
    set_aside = False
    try:
        if definition["eager"]:
            new_id = _create(api, definition, scope, old["volumes"], name="%s_dockerup_new_%s" % (name, old["id"][:12]))
            api.start(new_id)
            wait_ready(api, new_id, definition, outcome.deadline)
            if was_running:
                _stop(api, old)
            api.rename(old["id"], aside)
            set_aside = True
            api.rename(new_id, name)
        else:
            if was_running:
                _stop(api, old)
            api.rename(old["id"], aside)
            set_aside = True
            new_id = _create(api, definition, scope, old["volumes"])
            api.start(new_id)
            wait_ready(api, new_id, definition, outcome.deadline)
    except ENGINE_ERRORS:
        if new_id:
            _catch(api.remove_container, new_id, v=False, force=True)
        if set_aside:
            api.rename(old["id"], name)
        if was_running:
            _catch(api.start, old["id"])
        raise
    new_image = api.inspect_container(new_id)["Image"]
    if old["image_id"] != new_image:
        outcome.replaced_images.add(old["image_id"])
    try:
        api.remove_container(old["id"], v=False)
    except NotFound:
        pass


def _last_logs(api, container_id):
    try:
        return api.logs(container_id, tail=LOG_LINES).decode("utf-8", "replace").rstrip()
    except ENGINE_ERRORS:
        return "(no logs)"


def _remove_unused_images(api, outcome):
    for image_id in sorted(outcome.replaced_images):
        try:
            if api.inspect_image(image_id).get("RepoTags"):
                continue
            api.remove_image(image_id)
        except ENGINE_ERRORS:
            continue  # in use by another container, or already gone: left as is


def _prune_host(api, outcome):
    try:
        api.prune_containers()
        api.prune_images(filters={"dangling": True})
    except ENGINE_ERRORS as exc:
        outcome.warnings.append("host-wide cleanup failed: %s" % describe(exc))
