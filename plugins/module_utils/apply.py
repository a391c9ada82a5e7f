# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry out a plan with docker-py: networks, pulls, recoveries, removals, then containers wave by wave.

A failure is confined to its container (and the containers that depend on it); the others still
converge. A replacement keeps the old container, stopped and renamed, until the new one runs; if the
new one cannot start, it is removed and the old one comes back.
"""

from __future__ import annotations

from . import dockerspec, schema
from .observe import APIError, DockerException, NotFound, pool_map

ENGINE_ERRORS = (APIError, DockerException, OSError)
LOG_LINES = 10


class Outcome:
    def __init__(self):
        self.done = []  # actions carried out (plan entries, possibly with "error")
        self.errors = {}  # container name -> reason
        self.warnings = []
        self.touched = set()  # container names whose state changed
        self.replaced_images = set()  # image ids that replacements moved away from


def describe(exc):
    text = getattr(exc, "explanation", None) or str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def apply_plan(api, plan, observed, scope, cleanup="managed"):
    outcome = Outcome()
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
        pool_map(lambda d: _converge_one(api, scope, per_container[d["name"]], observed, pulled, failed_images, outcome), wave)

    if cleanup == "managed":
        _remove_unused_images(api, outcome)
    elif cleanup == "host":
        _prune_host(api, outcome)
    return outcome


def _catch(function, *args):
    try:
        function(*args)
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
        if kind == "create":
            error = _catch(_create_and_start, api, definition, scope, None)
        elif kind == "replace":
            error = _catch(_replace, api, action, scope, outcome)
        elif kind == "update":
            error = _catch(lambda: api.update_container(action["target"]["id"], **dockerspec.update_args(definition, action["fields"])))
        else:
            error = _catch(api.start, action["target"]["id"])
        _record(outcome, action, error)
        if error is not None:
            return


def _replacement_needed(action, pulled, failed_images):
    """A replacement caused only by an image pull is dropped when the pull failed or changed nothing."""
    image = action["definition"]["image"]
    only_image = all(r.startswith("image ") or r.startswith("not running") for r in action["reasons"])
    if image in failed_images and only_image:
        return False
    if action.get("only_if_image_changes"):
        return pulled.get(image) not in (None, action["target"]["image_id"])
    return True


def _create_and_start(api, definition, scope, carried):
    created = api.create_container(**dockerspec.create_args(api, definition, scope, carried))
    api.start(created["Id"])
    return created["Id"]


def _replace(api, action, scope, outcome):
    """Stop and set the old container aside, start the new one; on failure bring the old one back."""
    old = action["target"]
    definition = action["definition"]
    aside = "%s_dockerup_old_%s" % (definition["name"], old["id"][:12])
    was_running = old["status"] in ("running", "restarting")
    if was_running:
        _stop(api, old)
    api.rename(old["id"], aside)
    new_id = None
    try:
        created = api.create_container(**dockerspec.create_args(api, definition, scope, old["volumes"]))
        new_id = created["Id"]
        api.start(new_id)
        state = api.inspect_container(new_id)["State"]
        if state.get("Status") not in ("running",) and not (definition["restart"] == "no" and state.get("ExitCode") == 0):
            raise APIError("the new container is %s (exit code %s); last log lines:\n%s" % (
                state.get("Status"), state.get("ExitCode"), _last_logs(api, new_id)))
    except ENGINE_ERRORS:
        if new_id:
            _catch(api.remove_container, new_id, v=False, force=True)
        api.rename(old["id"], definition["name"])
        if was_running:
            api.start(old["id"])
        outcome.done.append({"action": "rollback", "container": definition["name"], "diff": None,
                             "reasons": ["the replacement failed; the previous container was restored"]})
        raise
    if old["image_id"] != api.inspect_container(new_id)["Image"]:
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
