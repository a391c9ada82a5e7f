# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Carry out a plan with docker-py: networks, pulls, recoveries, removals, then containers wave by wave.

Imported only by runs that change something: it brings docker-py. A failure is confined to its
container (and the containers that depend on it); the others still converge. A replacement keeps
the old container, stopped and renamed, until the new one is ready; if the new one does not become
ready, it is removed and the old one comes back (rollback). Containers marked ``update.rolling`` are
replaced one at a time, and none after the first failure. A stop request (SIGTERM of the host
command) lets the step in progress finish and starts no other.

An eager replacement on a user-defined network is a switch through the network's DNS, for a front
proxy that reaches the container by name (``_switch``): the new container joins the name as a network
alias only once it is ready, the proxy gets ``update.drainSeconds`` to see it, then the old one leaves
the name and is stopped with its own stop signal and timeout.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager

try:
    from docker.errors import APIError, DockerException, NotFound
except ImportError:  # the module checks for docker before it runs the engine; this keeps imports working
    class DockerException(Exception):
        pass

    class APIError(DockerException, OSError):
        pass

    class NotFound(APIError):
        pass

from . import dockerspec, registry_auth, schema
from .observe import pool_map
from .plan import recorded_dependencies

# pylint cannot see docker's exception classes where docker is not installed (the sanity venv):
# pylint: disable=catching-non-exception
ENGINE_ERRORS = (APIError, DockerException, OSError)
LOG_LINES = 10
READY_POLL = 0.25
# Fault injection for the integration tests (tests/.../zero_downtime.yml): the process SIGKILLs itself
# when the switch reaches the step named in this variable. Never set outside tests.
KILL_AT_ENV = "DOCKERUP_TEST_KILL_AT"
DEFAULT_STOP_TIMEOUT = 10
SLOW_STEP = 1.0  # a pull or a wait that takes longer than this is announced through ``progress``


class NotReady(APIError):
    """The new container did not become ready; the message says why and shows its last log lines."""


def checkpoint(step):
    """A named step of a replacement (see KILL_AT_ENV)."""
    if os.environ.get(KILL_AT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def describe(exc):
    """An engine error as text: the daemon's own explanation when it gave one."""
    text = (getattr(exc, "explanation", None) or str(exc)).strip()
    return text or type(exc).__name__


def catch(function, *args, **kwargs):
    """The engine error ``function`` raised, or None."""
    try:
        function(*args, **kwargs)
    except ENGINE_ERRORS as exc:
        return exc
    return None


def mask_env(text, definition):
    """``text`` with the definition's env values masked (a program may print its environment).
    Values shorter than three characters are left: they carry no secret and would mangle the text."""
    for value in sorted((definition or {}).get("env", {}).values(), key=len, reverse=True):
        if len(value) >= 3:
            text = text.replace(value, schema.MASK)
    return text


class Outcome:
    """What a run did: the actions carried out (plan entries, failed ones with ``error``), per-container
    errors, warnings, which containers changed, and which images replacements moved away from."""

    def __init__(self):
        self.done = []
        self.errors = {}
        self.warnings = []
        self.touched = set()
        self.replaced_images = set()
        self.interrupted = False
        self._lock = threading.Lock()

    def record(self, action, error=None):
        with self._lock:
            if error is None:
                self.done.append(action)
                self.touched.add(action["container"])
                return
            text = error if isinstance(error, str) else describe(error)
            self.done.append(dict(action, error=text))
            self.errors[action["container"]] = text if isinstance(error, str) else "%s failed: %s" % (action["action"], text)


class Applier:
    def __init__(self, api, observed, scope, ready_timeout, auth=None, stop_requested=None, progress=None):
        self.api = api
        self.observed = observed
        self.scope = scope
        self.deadline = time.monotonic() + ready_timeout  # bounds every readiness wait of the run
        self.auth = auth  # registry_auth.RegistryAuth, or None
        self.stop_requested = stop_requested or (lambda: False)
        self.progress = progress
        self.outcome = Outcome()
        self.pulled = {}  # image ref -> image id after a successful pull
        self.failed_pulls = {}  # image ref -> reason
        self.rolling_failed = None

    # -- the run ---------------------------------------------------------------------------------
    def apply(self, plan, cleanup="managed"):
        outcome = self.outcome
        outcome.errors.update(plan.errors)
        by_kind = {}
        for action in plan.actions:
            by_kind.setdefault(action["action"], []).append(action)

        for action in by_kind.get("network", []):
            self._step(action, lambda a: self.api.create_network(
                a["network"], driver="bridge", labels={dockerspec.MANAGED: "true", dockerspec.SCOPE: self.scope}))
        for action in by_kind.get("build", []):
            self._image_step(action, self._build)
        pool_map(lambda a: self._image_step(a, self._pull), by_kind.get("pull", []))
        for action in by_kind.get("volume", []):
            self._step(action, self._create_volume)
        for action in by_kind.get("recover", []):
            self._step(action, self._recover)
        # Removals come dependents first (plan order); independent ones go concurrently.
        removals = by_kind.get("remove", [])
        names = {a["target"]["name"] for a in removals}
        if any(recorded_dependencies(a["target"]) & names for a in removals):
            for action in removals:
                self._step(action, lambda a: self._remove(a["target"]))
        else:
            pool_map(lambda a: self._step(a, lambda a: self._remove(a["target"])), removals)
        for action in by_kind.get("remove_volume", []):
            self._step(action, lambda a: self.api.remove_volume(a["volume"]))

        per_container = {}
        for action in plan.actions:
            if action["action"] in ("create", "replace", "update", "start"):
                per_container.setdefault(action["container"], []).append(action)
        for wave in schema.dependency_order([actions[0]["definition"] for actions in per_container.values()]):
            # Independent containers converge concurrently; rolling replacements go one at a time, in order.
            rolling = [d for d in wave if d["rolling"] and any(a["action"] == "replace" for a in per_container[d["name"]])]
            lanes = [[d] for d in wave if d not in rolling] + ([rolling] if rolling else [])
            pool_map(lambda lane: [self._converge(per_container[d["name"]]) for d in lane], lanes)

        if outcome.interrupted:
            outcome.warnings.append("interrupted: the step in progress was finished, the rest was not started")
        elif cleanup == "managed":
            self._remove_unused_images()
        elif cleanup == "host":
            self._prune_host()
        return outcome

    def _started(self):
        """False (and the run marked interrupted) once a stop was requested: start no new step."""
        if self.stop_requested():
            self.outcome.interrupted = True
            return False
        return True

    def _step(self, action, function):
        if self._started():
            self.outcome.record(action, catch(function, action))

    @contextmanager
    def _slow(self, text):
        """Announce ``text`` through ``progress`` if the step takes more than a second."""
        timer = None
        if self.progress:
            timer = threading.Timer(SLOW_STEP, self.progress, (text,))
            timer.daemon = True
            timer.start()
        try:
            yield
        finally:
            if timer:
                timer.cancel()

    # -- images and volumes ----------------------------------------------------------------------
    def _image_step(self, action, function):
        """A pull or a build. On failure, containers keep a local image (warning); without one, they fail."""
        ref = action["image"]
        if not self._started():
            return
        try:
            function(action)
            self.pulled[ref] = self.api.inspect_image(ref)["Id"]
        except ENGINE_ERRORS as exc:
            self.failed_pulls[ref] = describe(exc)
            if self.observed.images.get(ref) is not None:
                self.outcome.warnings.append("%s of %s failed (%s); containers keep running the local image" % (
                    action["action"], ref, self.failed_pulls[ref]))
            else:
                self.outcome.done.append(dict(action, error=self.failed_pulls[ref]))
            return
        self.outcome.done.append(action)

    def _pull(self, action):
        ref = action["image"]
        try:
            found = self.auth.lookup(ref)[1] if self.auth else None
        except registry_auth.CredentialError as exc:
            raise APIError(str(exc))
        with self._slow("pulling %s" % ref):
            try:
                # Always an explicit auth_config ({} = anonymous): docker-py would otherwise read the
                # config and run credential helpers itself, unbounded.
                self._drain(self.api.pull(ref, stream=True, decode=True, auth_config=found or {}))
            except APIError as exc:
                if not self.auth:
                    raise
                text = describe(exc)
                explained = self.auth.explain(ref, text, getattr(exc, "status_code", None))
                if explained == text:
                    raise
                raise APIError(explained)

    def _build(self, action):
        with self._slow("building %s" % action["image"]):
            self._drain(self.api.build(**dockerspec.build_args(action["definition"], action["context_hash"])))

    @staticmethod
    def _drain(stream):
        """Read a pull or build progress stream to its end; an error line becomes an exception."""
        tail = []
        for line in stream:
            if not isinstance(line, dict):
                continue
            if line.get("error"):
                raise APIError("%s%s" % (line["error"].strip(), "; last output:\n" + "".join(tail[-5:]).rstrip() if tail else ""))
            if line.get("stream"):
                tail.append(line["stream"])

    def _create_volume(self, action):
        """A named volume with our labels; owner and permissions applied once, by a short-lived container
        of an image already on the host (no network)."""
        volume = action["spec"]
        self.api.create_volume(action["volume"], labels=dockerspec.volume_labels(self.scope))
        script = dockerspec.ownership_script(volume)
        if not script:
            return
        helper = self.api.create_container(
            action["image"], entrypoint=["/bin/sh", "-c"], command=[script], user="0", network_disabled=True,
            labels=dockerspec.volume_labels(self.scope),
            host_config=self.api.create_host_config(binds=["%s:/volume:rw" % action["volume"]], network_mode="none"))
        try:
            self.api.start(helper["Id"])
            code = self.api.wait(helper["Id"], timeout=60).get("StatusCode")
            if code != 0:
                raise APIError("setting owner/permissions of volume %r failed (exit code %s): %s" % (
                    action["volume"], code, self._last_logs(helper["Id"], None)))
        finally:
            catch(self.api.remove_container, helper["Id"], v=False, force=True)

    def _replacement_needed(self, action):
        """A replacement caused only by an image pull is dropped when the pull failed or changed nothing."""
        image = action["definition"]["image"]
        causes = action["causes"]
        if image in self.failed_pulls and causes <= {"image", "image-maybe"}:
            return False
        if causes == {"image-maybe"}:
            return self.pulled.get(image) not in (None, action["target"]["image_id"])
        return True

    def _remove_unused_images(self):
        """Images our replacements left behind, when nothing uses them and no tag names them."""
        for image_id in sorted(self.outcome.replaced_images):
            try:
                if self.api.inspect_image(image_id).get("RepoTags"):
                    continue
                self.api.remove_image(image_id)
            except ENGINE_ERRORS:
                continue  # in use by another container, or already gone: left as is

    def _prune_host(self):
        try:
            self.api.prune_containers()
            self.api.prune_images(filters={"dangling": True})
        except ENGINE_ERRORS as exc:
            self.outcome.warnings.append("host-wide cleanup failed: %s" % describe(exc))

    # -- containers ------------------------------------------------------------------------------
    def _converge(self, actions):
        """The actions of one container, in order; the first failure ends them."""
        definition = actions[0]["definition"]
        broken = sorted(d for d in schema.dependencies(definition) if d in self.outcome.errors)
        image = definition["image"]
        reason = None
        if broken:
            reason = "not converged: it depends on %s, which failed" % ", ".join(repr(b) for b in broken)
        elif image in self.failed_pulls and self.observed.images.get(image) is None:
            reason = "image %s is not on the host and could not be pulled: %s" % (image, self.failed_pulls[image])
        if reason:
            for action in actions:
                self.outcome.record(action, reason)
            return
        for action in actions:
            if not self._started():
                return
            kind = action["action"]
            if kind == "replace" and not self._replacement_needed(action):
                if action["target"]["status"] in ("created", "exited"):
                    start = dict(action, action="start", reasons=["not running"])
                    self.outcome.record(start, catch(self.api.start, action["target"]["id"]))
                continue
            if kind == "replace" and definition["rolling"] and self.rolling_failed:
                self.outcome.warnings.append("%r was not replaced: rolling updates stopped after %r failed; it keeps "
                                             "running its current version" % (definition["name"], self.rolling_failed))
                continue
            error = catch(self._act, action)
            self.outcome.record(action, error)
            if error is not None:
                if kind == "replace":
                    if definition["rolling"]:
                        self.rolling_failed = definition["name"]
                    self.outcome.record({"action": "rollback", "container": definition["name"], "diff": None,
                                         "reasons": ["the replacement failed; the previous container was restored"]})
                return

    def _act(self, action):
        kind = action["action"]
        definition = action["definition"]
        if kind == "update":
            self.api.update_container(action["target"]["id"], **dockerspec.update_args(definition, action["fields"]))
            return
        self._wait_for_dependencies(definition)
        if kind == "create":
            container_id = self._create(definition, None)
            self.api.start(container_id)
            self._run_exec(container_id, definition)
        elif kind == "replace":
            self._replace(action)
        else:
            self.api.start(action["target"]["id"])
            self._run_exec(action["target"]["id"], definition)

    def _wait_for_dependencies(self, definition):
        """``dependsOn`` entries with ``condition: healthy`` must be healthy before this container starts."""
        for dep in definition["depends_on"]:
            if dep["condition"] != "healthy":
                continue
            with self._slow("%s waits for %s to be healthy" % (definition["name"], dep["name"])):
                while True:
                    state = self.api.inspect_container(dep["name"])["State"]
                    health = (state.get("Health") or {}).get("Status")
                    if state.get("Status") == "running" and health in ("healthy", None):
                        break
                    if state.get("Status") != "running" or health == "unhealthy" or time.monotonic() >= self.deadline:
                        raise APIError("dependency %r is not healthy (%s%s)" % (
                            dep["name"], state.get("Status"), ", health: %s" % health if health else ""))
                    time.sleep(READY_POLL)

    def _run_exec(self, container_id, definition):
        """The definition's post-start commands, in order; the first failure fails the step with its output."""
        for index, step in enumerate(definition["exec"] or []):
            exec_id = self.api.exec_create(container_id, step["command"], user=step["user"] or "")["Id"]
            output = self.api.exec_start(exec_id).decode("utf-8", "replace").rstrip()
            code = self.api.exec_inspect(exec_id).get("ExitCode")
            if code != 0:
                raise APIError("exec[%d] %s failed with exit code %s; output:\n%s" % (
                    index, " ".join(step["command"]), code, output[-2000:]))

    def _create(self, definition, carried, name=None, aliases=None):
        args = dockerspec.create_args(self.api, definition, self.scope, carried, self._dependency_ids(definition), aliases)
        if name:
            args["name"] = name
        return self.api.create_container(**args)["Id"]

    def _dependency_ids(self, definition):
        """``{name: id}`` of the containers ``definition`` depends on, as they are now (created before it)."""
        ids = {}
        for name in sorted(schema.dependencies(definition)):
            try:
                ids[name] = self.api.inspect_container(name)["Id"]
            except NotFound:
                pass
        return ids

    def _stop(self, container):
        """Stop gracefully, waiting the container's own stop timeout (docker-py's HTTP timeout grows with it)."""
        timeout = container.get("stop_timeout")
        self.api.stop(container["id"], timeout=DEFAULT_STOP_TIMEOUT if timeout is None else timeout)

    def _remove(self, container):
        if container["status"] in ("running", "restarting", "paused"):
            self._stop(container)
        try:
            self.api.remove_container(container["id"], v=False)
        except NotFound:
            pass

    def _carried_volumes(self, old, definition):
        """The old container's volumes that the replacement still declares, by its definition or by its
        image's VOLUME paths: a volume removed from the definition is not mounted again."""
        image_paths = (self.api.inspect_image(definition["image"]).get("Config") or {}).get("Volumes") or {}
        wanted = set(definition["anonymous_volumes"]) | {schema.container_path(p) for p in image_paths}
        return {path: name for path, name in old["volumes"].items() if path in wanted}

    def _replace(self, action):
        """Replace a container without losing it: the old one is kept, stopped and renamed (or, with
        ``update.eager``, still running) until the new one is ready; on failure the new one is removed
        and the old one restored.

        - default: stop the old one, set it aside, create and start the new one under the name, wait
          until it is ready. With network ``aliases`` the new one is created as ``<name>_dockerup_new_<id>``
          without them and joins them (``_relink``) once ready, then takes the name, and proxies get
          ``drainSeconds`` to see it: a container that never gets ready never receives traffic through
          an alias, and the next rolling replacement of the alias finds it known.
        - eager on a user-defined network: ``_switch`` (the old one serves until the new one is ready and
          known to the proxy).
        - eager on a built-in network (no DNS): the new one is ready first, the name moves by two renames,
          the old one keeps serving ``drainSeconds`` more (for requests by address), then stops.
        """
        old = action["target"]
        definition = action["definition"]
        name = definition["name"]
        aside = "%s_dockerup_old_%s" % (name, old["id"][:12])
        temporary = "%s_dockerup_new_%s" % (name, old["id"][:12])
        was_running = old["status"] in ("running", "restarting")
        network = dockerspec.user_network(definition)
        # Eager, or with aliases: the new container starts under a temporary name and in no alias, and
        # takes them once ready (aliases need a user-defined network: the schema says so).
        staged = definition["eager"] or bool(definition["aliases"])
        state = {"new": None, "aside": False}
        carried = self._carried_volumes(old, definition)
        try:
            if not definition["eager"]:
                if was_running:
                    self._stop(old)
                self._set_aside(old, aside, state)
            self._start_ready(state, definition, carried, temporary if staged else None)
            if staged:
                checkpoint("ready")
            if self.overlaps(definition):
                self._switch(old, state, definition, network, aside, was_running)
            elif definition["eager"]:
                self._rename_switch(old, state, definition, network, aside, was_running)
            elif staged:
                self._relink(state["new"], definition, network, self.aliases_for(definition))
                checkpoint("alias")
                self.api.rename(state["new"], name)
                # Proxies learn the new address before anything else changes (the next rolling
                # replacement stops another replica of the alias).
                self._pause(definition["drain_seconds"], "%s: the proxy learns the new container" % name)
        except ENGINE_ERRORS:
            if state["new"]:
                catch(self.api.remove_container, state["new"], v=False, force=True)
            if state["aside"]:
                self.api.rename(old["id"], name)
            if was_running:
                catch(self.api.start, old["id"])
            raise
        new_id = state["new"]
        if old["image_id"] != self.api.inspect_container(new_id)["Image"]:
            self.outcome.replaced_images.add(old["image_id"])
        try:
            self.api.remove_container(old["id"], v=False, force=True)  # stopped already (its volumes stay)
        except NotFound:
            pass

    def _start_ready(self, state, definition, carried, name):
        """Create the new container (under ``name``, or the definition's; in no alias), start it, run its
        ``exec`` commands and wait until it is ready. ``state["new"]`` names it from its creation on."""
        state["new"] = self._create(definition, carried, name=name, aliases=[])
        self.api.start(state["new"])
        self._run_exec(state["new"], definition)
        self.wait_ready(state["new"], definition)

    def _set_aside(self, old, aside, state):
        self.api.rename(old["id"], aside)
        state["aside"] = True

    @staticmethod
    def overlaps(definition):
        """Whether an eager replacement of ``definition`` overlaps the two containers under its name
        (``_switch``): ``update.switch`` "overlap" on a user-defined network. Otherwise eager renames."""
        return bool(definition["eager"] and definition["switch"] == "overlap" and dockerspec.user_network(definition))

    @classmethod
    def aliases_for(cls, definition):
        """The network aliases a container of ``definition`` gets: its ``aliases``, and with an overlapping
        switch its name too (two containers can share an alias, never a name: that is how they overlap)."""
        return sorted(set(definition["aliases"]) | ({definition["name"]} if cls.overlaps(definition) else set()))

    def _switch(self, old, state, definition, network, aside, was_running):
        """Eager on a user-defined network: move ``name`` from the old container to the ready new one
        through the network's DNS, so that a proxy resolving the name (nginx: ``resolver 127.0.0.11
        valid=1s`` and a variable in ``proxy_pass``) always finds a container that serves.

        1. The new one (ready, under its temporary name, in no alias) joins ``name`` as a network alias:
           the name now resolves to both. Wait ``drainSeconds`` so that proxies have re-resolved.
        2. The old one leaves the name. Without an alias of its own (created by a plain run) it leaves by
           a rename, while it still serves: wait ``drainSeconds`` again for proxies to drop it and for
           requests in flight to finish, then stop it with its stop signal and timeout. With an alias
           (left by an earlier switch, or ``aliases``) it can leave DNS only by leaving the network,
           that is by stopping: its own graceful stop refuses new connections while it finishes those
           in flight, and the proxy retries a refused or failed connection on the other address (nginx's
           default ``proxy_next_upstream error timeout``; keep ``proxy_connect_timeout`` short).
        3. The new one takes the name; the old one is removed by the caller.
        A run killed at any step leaves at most the two containers, one running under ``name`` or under
        its temporary name in the alias; the next run's recovery keeps the running new one (plan.py).
        """
        name = definition["name"]
        drain = definition["drain_seconds"]
        self._relink(state["new"], definition, network, self.aliases_for(definition))
        if not was_running:
            self._set_aside(old, aside, state)
            self.api.rename(state["new"], name)
            return
        checkpoint("alias")
        self._pause(drain, "%s: the proxy learns the new container" % name)
        own = old["id"][:12]
        aliased = [a for a in self._aliases(old["id"], network) if a not in (own, old["id"])]
        self._set_aside(old, aside, state)
        checkpoint("aside")
        if not aliased:
            self._pause(drain, "%s: the old container drains" % name)
        catch(self._stop, old)  # the new one serves already; the caller removes the old one by force
        checkpoint("stopped")
        self.api.rename(state["new"], name)
        checkpoint("renamed")

    def _rename_switch(self, old, state, definition, network, aside, was_running):
        """Eager by two renames (``update.switch: rename``, and every eager switch on a built-in network):
        the new one (ready, under its temporary name) joins its ``aliases`` if it has any, the old one is
        renamed aside and the new one takes the name at once. The name never resolves to both and, between
        the two renames, to neither: a proxy that resolves it for every new connection and sends a failed
        one again (Traefik) reaches the new container. The old one, out of the name while it still serves
        (the name never was an alias of its), gets ``drainSeconds`` to finish the requests in flight, then
        is stopped with its stop signal and timeout. A run killed between the renames leaves the new one
        running under its temporary name; the next run gives it the name (plan.py's recovery)."""
        name = definition["name"]
        if network and definition["aliases"]:
            self._relink(state["new"], definition, network, self.aliases_for(definition))
            checkpoint("alias")
        self._set_aside(old, aside, state)
        checkpoint("aside")
        self.api.rename(state["new"], name)
        checkpoint("renamed")
        if was_running:
            self._pause(definition["drain_seconds"], "%s: the old container drains" % name)
            catch(self._stop, old)  # it is replaced already; a failed stop is cleaned up by the caller

    def _aliases(self, container_id, network):
        """The container's aliases on ``network`` (Docker lists its short id there too)."""
        networks = (self.api.inspect_container(container_id).get("NetworkSettings") or {}).get("Networks") or {}
        return list((networks.get(network) or {}).get("Aliases") or [])

    def _relink(self, container_id, definition, network, aliases):
        """Give a running container ``aliases`` on ``network``: Docker sets aliases only when a container
        joins a network, so it leaves and joins again (it serves no alias yet: nothing is lost)."""
        catch(self.api.disconnect_container_from_network, container_id, network)
        self.api.connect_container_to_network(container_id, network, aliases=list(aliases) or None,
                                              links=definition["links"] or None)

    def _recover(self, action):
        """A container an interrupted replacement left under another name gets the name back; a new one
        left under its temporary name first gets the aliases it was about to get (if it lacks them)."""
        target = action["target"]
        definition = action.get("definition")
        network = dockerspec.user_network(definition) if definition else None
        if network and "_dockerup_new_" in target["name"] and target["status"] == "running":
            wanted = self.aliases_for(definition)
            if not set(wanted) <= set(self._aliases(target["id"], network)):
                self._relink(target["id"], definition, network, wanted)
        self.api.rename(target["id"], action["container"])

    def _pause(self, seconds, text):
        if seconds:
            with self._slow(text):
                time.sleep(seconds)

    def wait_ready(self, container_id, definition):
        """Wait until the container is ready: ``healthy`` when it has a health check, else still running
        after ``update.minReadySeconds``. Raises NotReady (exited, restarted by its restart policy,
        unhealthy, or the run's deadline passed)."""
        started = time.monotonic()
        with self._slow("waiting for %s to be ready" % definition["name"]):
            while True:
                inspected = self.api.inspect_container(container_id)
                state = inspected["State"]
                status = state.get("Status")
                health = (state.get("Health") or {}).get("Status")
                if inspected.get("RestartCount"):  # it exited and came back between two looks: a crash, not ready
                    raise NotReady("the new container exited and its restart policy restarted it (%d time(s)); last log lines:\n%s" % (
                        inspected["RestartCount"], self._last_logs(container_id, definition)))
                if status != "running":
                    if definition["restart"] == "no" and status == "exited" and state.get("ExitCode") == 0:
                        return  # a one-shot job that finished well
                    raise NotReady("the new container is %s (exit code %s); last log lines:\n%s" % (
                        status, state.get("ExitCode"), self._last_logs(container_id, definition)))
                if health == "healthy" or (health is None and time.monotonic() - started >= definition["min_ready_seconds"]):
                    return
                if health == "unhealthy":
                    probe = mask_env(((state.get("Health") or {}).get("Log") or [{}])[-1].get("Output", "").strip(), definition)
                    raise NotReady("the new container is unhealthy (last check: %s); last log lines:\n%s" % (
                        probe or "no output", self._last_logs(container_id, definition)))
                if time.monotonic() >= self.deadline:
                    raise NotReady("the new container was not ready within the run's ready timeout (%s); last log lines:\n%s" % (
                        "health: %s" % health if health else "running", self._last_logs(container_id, definition)))
                time.sleep(READY_POLL)

    def _last_logs(self, container_id, definition):
        """The container's last log lines, env values masked (see ``mask_env``)."""
        try:
            text = self.api.logs(container_id, tail=LOG_LINES).decode("utf-8", "replace").rstrip()
        except ENGINE_ERRORS:
            return "(no logs)"
        return mask_env(text, definition)
