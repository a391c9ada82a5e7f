# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reconcile run: sources -> validated definitions -> observe -> plan -> apply (or not) -> report.

The Ansible module and the ``dockerup`` command are two thin adapters over ``converge``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time

from . import observe, plan, registry_auth, report, schema, sdk, sources
from .errors import DockerupError, Interrupted

DEFAULT_CACHE = "/var/cache/dockerup"
DEFAULT_READY_TIMEOUT = 120
LOCK_FILE = "lock"
VALIDATED_FILE = "validated"  # digest of the last input that passed validation
CLEANUP_MODES = ("managed", "none", "host")


@contextlib.contextmanager
def run_lock(cache, wait=300.0, waiting=None, stop_requested=None):
    """An exclusive lock in the cache dir, so that two runs on one host never interleave.

    A busy lock is retried for ``wait`` seconds; ``waiting`` is called once with a line saying so, and
    ``stop_requested`` is polled, so that a stop while waiting ends the run before it changes anything.
    """
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, LOCK_FILE)
    handle = open(path, "a")
    try:
        deadline = time.monotonic() + wait
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if stop_requested and stop_requested():
                raise Interrupted("stopped while waiting for another dockerup run (lock %s); nothing was changed" % path)
            if time.monotonic() >= deadline:
                raise DockerupError("another dockerup run holds %s; gave up after %g s" % (path, wait))
            if waiting and not announced:
                waiting("waiting up to %g s for another dockerup run to finish (lock %s)" % (wait, path))
                announced = True
            time.sleep(0.2)
        yield
    finally:
        handle.close()


def converge(containers=None, confdir=None, user_data=False, user_data_endpoint=sources.DEFAULT_USER_DATA_ENDPOINT,
             cache=DEFAULT_CACHE, docker_host=None, scope="default", pull=True, prune=True, cleanup="managed",
             check_mode=False, diff=False, lock_wait=300.0, ready_timeout=DEFAULT_READY_TIMEOUT,
             hub_auth=None, stop_requested=None, interruptible=None, progress=None, prune_volumes=False,
             registry_credentials=None, registry_config=None):
    """Reconcile the engine at ``docker_host`` with the definitions from every source.

    Returns the report dict (see report.build_report). Raises DefinitionError (bad input: nothing
    changed) or DockerupError (engine unreachable, lock held). Per-container failures are in
    ``report["errors"]``; the other containers still converge.

    ``hub_auth``: credentials for Docker Hub pulls (the original's ``username``/``password``).
    ``registry_credentials``: ``[{registry, username, password}]`` given to the tool; ``registry_config``: a
    docker-style config.json given to the tool. Both come before the Docker client config (registry_auth).
    ``stop_requested``: polled between steps; once true, no new step starts (``report["interrupted"]``).
    ``interruptible``: a context manager factory wrapped around everything before the first change
    (reading, validating, observing, planning), inside which a stop may end the run at once.
    ``progress``: called with a line of text when a pull or a readiness wait takes more than a second,
    and when the run waits for the lock (``lock_wait`` seconds at most, then DockerupError).
    """
    if cleanup not in CLEANUP_MODES:
        raise DockerupError("cleanup must be one of %s, not %r" % (", ".join(CLEANUP_MODES), cleanup))
    if user_data and not str(user_data_endpoint).startswith("http://"):  # the metadata service speaks plain HTTP
        raise DockerupError("user_data_endpoint must be an http:// URL, not %r" % (user_data_endpoint,))
    sdk.check()  # in check mode too: a plan the SDK could never apply is no plan
    # Under the lock: the sources (and the cache's last good user-data) are read as they are when the
    # run may act, and two runs never interleave.
    with run_lock(cache, lock_wait, progress, stop_requested):
        api = None
        try:
            with (interruptible or contextlib.nullcontext)():
                found = sources.read_sources(containers, confdir, user_data, user_data_endpoint, cache)
                digest = schema.input_digest(found.entries)
                trusted = bool(digest) and not found.problems and (sources.read_cache_file(cache, VALIDATED_FILE) or "").strip() == digest
                definitions = schema.validate(found.entries, found.problems, trusted)
                api = observe.connect(docker_host)
                auth = registry_auth.RegistryAuth(hub_auth, registry_credentials, registry_config)
                observed = observe.observe(api, definitions, scope, pull, auth, prune_volumes)
                planned = plan.plan_actions(definitions, observed, prune, found.unread, cleanup != "none", prune_volumes)
            warnings = found.warnings + planned.warnings
            listed = [d["name"] for d in definitions]
            current = {c["name"]: c for c in observed.containers}
            if check_mode:
                return report.build_report(planned.actions, listed, current, warnings, planned.errors, diff,
                                           report.pending_updates(planned.actions, definitions))
            if found.user_data_text is not None:
                sources.store_user_data(cache, found.user_data_text)
            if not trusted and digest:
                sources.write_cache_file(cache, VALIDATED_FILE, digest + "\n")
            if not planned.actions:
                return dict(report.build_report([], listed, current, warnings, planned.errors, diff), interrupted=False)
            from . import apply  # pylint: disable=import-outside-toplevel  # brings docker-py: only when changing
            docker_api = observe.connect_docker(docker_host)
            try:
                applier = apply.Applier(docker_api, observed, scope, ready_timeout, auth, stop_requested, progress)
                outcome = applier.apply(planned, cleanup)
            finally:
                docker_api.close()
            final = _final_state(api, definitions, current, outcome, scope)
            updates = report.pending_updates(planned.actions, definitions, final, applier.pulled)
            result = report.build_report(outcome.done, listed, final, warnings + outcome.warnings, outcome.errors, diff, updates)
            result["interrupted"] = outcome.interrupted
            return result
        finally:
            if api is not None:
                api.close()


def _final_state(api, definitions, before, outcome, scope):
    """Containers by name after the run: re-inspected where something changed, else as ``before``."""
    current = dict(before)
    touched = [d["name"] for d in definitions if d["name"] in outcome.touched or d["name"] not in current]
    for name, container in zip(touched, observe.pool_map(lambda n: observe.inspect_by_name(api, n, scope), touched)):
        if container is not None:
            current[name] = container
        else:
            current.pop(name, None)
    return current
