# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How this host is doing: the status document of a run, kept in the cache dir, and its check view.

``build`` turns a run's report (or its failure) and timing into a plain dict; the host command writes
it as ``status.json`` in the cache dir after every run that is not ``--check`` (also a failed or an
interrupted one), the module returns it as ``status``. ``check`` reads it back for ``dockerup status``:
a person's summary and a Nagios-style exit code.
"""

from __future__ import annotations

import json
import os
import time

from . import bounded, sources

FILE = "status.json"
FORMAT = 1
STALE_INTERVALS = 3  # a status older than this many intervals is stale
MAX_BYTES = 4 * 1024 * 1024  # a status file read back (1000 containers with long reasons fit easily)

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3  # exit codes of ``dockerup status`` (Nagios plugin codes)
STATE_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}

# Actions that concern one container (the others name an image, a network or a volume and its users).
CONTAINER_ACTIONS = ("recover", "remove", "create", "replace", "update", "start", "rollback")


# Exit codes of a run of the host command (the module reports the same in its status).
EXIT_OK, EXIT_ERROR, EXIT_PENDING, EXIT_INTERRUPTED = 0, 1, 2, 130


def exit_code(result, check_mode):
    """The exit code of a run that produced the report ``result``: 1 when a container failed, 130 when it
    was interrupted, 2 in check mode with changes pending, else 0."""
    if result["errors"]:
        return EXIT_ERROR
    if result.get("interrupted"):
        return EXIT_INTERRUPTED
    if check_mode and result["actions"]:
        return EXIT_PENDING
    return EXIT_OK


def outcome_of(code):
    """``ok`` for 0 (and 2: --check with changes pending), ``interrupted`` for 130, else ``failed``."""
    if code in (EXIT_OK, EXIT_PENDING):
        return "ok"
    if code == EXIT_INTERRUPTED:
        return "interrupted"
    return "failed"


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def build(result, started, finished, exit_code, error=None, check_mode=False, interval=None, previous=None):
    """The status document of one run.

    ``result``: the run's report (report.build_report), or None when the run failed as a whole (then
    ``error`` says why). ``started``/``finished``: Unix times. ``previous``: the last status document,
    whose ``last_error`` is carried on when this run had none.
    """
    result = result or {}
    actions = result.get("actions", [])
    failed = dict(result.get("errors", {}))
    changed = {}
    counts, failures = {}, {}
    for action in actions:
        kind = action["action"]
        if action.get("error"):
            failures[kind] = failures.get(kind, 0) + 1
            continue
        counts[kind] = counts.get(kind, 0) + 1
        if kind in CONTAINER_ACTIONS:
            changed.setdefault(action["container"], []).append("%s: %s" % (kind, "; ".join(action["reasons"])))
    if error is None and failed:
        error = "%d container(s) not converged: %s" % (len(failed), "; ".join("%s: %s" % item for item in sorted(failed.items())))
    listed = list(result.get("listed", []))
    present = result.get("containers", {})
    document = {
        "format": FORMAT,
        "started": round(started, 3),
        "started_at": iso(started),
        "finished": round(finished, 3),
        "finished_at": iso(finished),
        "duration_seconds": round(max(finished - started, 0.0), 3),
        "outcome": outcome_of(exit_code),
        "exit_code": exit_code,
        "check_mode": bool(check_mode),
        "interval_seconds": interval,
        "containers": {
            "listed": listed,
            "running": [name for name in listed if (present.get(name) or {}).get("status") == "running"],
            "changed": changed,
            "failed": failed,
        },
        "actions": dict(sorted(counts.items())),
        "action_errors": dict(sorted(failures.items())),
        "pending_updates": list(result.get("pending_updates", [])),
        "warnings": list(result.get("warnings", [])),
        "error": error,
        "last_error": None,
    }
    if error is not None:
        document["last_error"] = {"at": document["finished_at"], "time": document["finished"], "message": error}
    elif isinstance(previous, dict) and isinstance(previous.get("last_error"), dict):
        document["last_error"] = previous["last_error"]
    return document


def path_in(cache):
    return os.path.join(cache, FILE)


def write(cache, document):
    os.makedirs(cache, exist_ok=True)
    sources.atomic_write(path_in(cache), json.dumps(document, indent=1, sort_keys=True) + "\n")


def read(cache):
    """The last status document, or None when there is none. Raises ValueError for one that cannot be read."""
    try:
        data = bounded.read_file(path_in(cache), MAX_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, bounded.InputError) as exc:
        raise ValueError("%s: cannot be read: %s" % (path_in(cache), getattr(exc, "strerror", None) or exc))
    try:
        document = bounded.parse_json(bounded.decode(data))
    except ValueError:
        raise ValueError("%s: not a status document" % path_in(cache))
    if not isinstance(document, dict) or not isinstance(document.get("finished"), (int, float)) \
            or document.get("outcome") not in ("ok", "failed", "interrupted"):
        raise ValueError("%s: not a status document" % path_in(cache))
    return document


def read_previous(cache):
    try:
        return read(cache)
    except ValueError:
        return None


def span(seconds):
    """``42 s``, ``5 min 3 s``, ``3 h 2 min``, ``2 d 4 h``."""
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return "%d s" % seconds
    if seconds < 3600:
        return "%d min %d s" % divmod(seconds, 60)
    if seconds < 86400:
        return "%d h %d min" % (seconds // 3600, seconds % 3600 // 60)
    return "%d d %d h" % (seconds // 86400, seconds % 86400 // 3600)


def check(document, now, max_age, where):
    """``(exit code, lines)`` for ``dockerup status``: 0 the last run converged and is younger than
    ``max_age`` seconds, 1 it was interrupted, 2 it failed or is stale, 3 there is no status (``document``
    None) or it cannot be read (``document`` a ValueError)."""
    if document is None:
        return UNKNOWN, ["dockerup UNKNOWN: no status yet (%s): no run has finished since dockerup was installed "
                         "or the cache dir was emptied" % where]
    if isinstance(document, Exception):
        return UNKNOWN, ["dockerup UNKNOWN: %s" % document]
    age = max(now - document["finished"], 0.0)
    stale = age > max_age
    outcome = document["outcome"]
    if stale or outcome == "failed":
        code = CRITICAL
    elif outcome == "interrupted":
        code = WARNING
    else:
        code = OK
    containers = document.get("containers") or {}
    listed, running = containers.get("listed") or [], containers.get("running") or []
    failed = containers.get("failed") or {}
    head = "dockerup %s: last run %s %s ago (%s, took %s, exit %s)" % (
        STATE_NAMES[code], outcome, span(age), document.get("finished_at"), "%.1f s" % document.get("duration_seconds", 0),
        document.get("exit_code"))
    if stale:
        head += "; stale: older than %s" % span(max_age)
    lines = [head, "containers: %d listed, %d running, %d changed, %d failed" % (
        len(listed), len(running), len(containers.get("changed") or {}), len(failed))]
    not_running = [name for name in listed if name not in running and name not in failed]
    if not_running:
        lines.append("not running: " + ", ".join(not_running))
    for name, reason in sorted(failed.items()):
        lines.append("failing: %s: %s" % (name, reason))
    if document.get("error") and not failed:
        lines.append("error: %s" % document["error"])
    for update in document.get("pending_updates") or []:
        lines.append("update pending: %s (%s)" % (update.get("image"), ", ".join(update.get("containers") or [])))
    for warning in document.get("warnings") or []:
        lines.append("warning: %s" % warning)
    last = document.get("last_error")
    if isinstance(last, dict) and not document.get("error"):
        lines.append("last error: %s, %s ago: %s" % (last.get("at"), span(now - (last.get("time") or now)), last.get("message")))
    return code, lines
