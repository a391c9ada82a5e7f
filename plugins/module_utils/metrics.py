# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus metrics of the last run, in node_exporter's textfile collector format.

``write(path, status)`` renders a status document (status.build) and replaces ``path`` atomically. The
counters (``dockerup_actions_total``, ``dockerup_action_errors_total``, ``dockerup_runs_total``) go on
from the values in the file it replaces (read back within a bound); a file that is missing or cannot be
read starts them at 0, which Prometheus takes as a counter reset.
"""

from __future__ import annotations

import re

from . import bounded
from .sources import atomic_write
from .status import CONTAINER_ACTIONS

MAX_BYTES = 256 * 1024  # a metrics file read back for its counters (ours is about 4 KiB)

# Every action the engine reports (plan and apply), so that each series exists from the first run.
ACTIONS = ("network", "build", "pull", "volume", "remove_volume") + CONTAINER_ACTIONS
OUTCOMES = ("ok", "failed", "interrupted")
STATES = ("listed", "running", "failed")
COUNTERS = ("dockerup_actions_total", "dockerup_action_errors_total", "dockerup_runs_total")

_SAMPLE = re.compile(r'^(dockerup_[a-z_]+_total)\{(action|outcome)="([a-z_]+)"\} ([0-9]+(?:\.[0-9]*)?(?:e\+?[0-9]+)?)$')


def read_counters(path):
    """``{(metric, label value): value}`` of the counters in an earlier file; {} when there is none."""
    try:
        text = bounded.read_text(path, MAX_BYTES)
    except (OSError, ValueError):
        return {}
    counters = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) in COUNTERS:
            counters[(match.group(1), match.group(3))] = float(match.group(4))
    return counters


def _number(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def render(status, counters=None):
    """The text of the metrics file for ``status``, counters added to ``counters`` (read_counters)."""
    counters = dict(counters or {})
    for action, count in (status.get("actions") or {}).items():
        key = ("dockerup_actions_total", action)
        counters[key] = counters.get(key, 0) + count
    for action, count in (status.get("action_errors") or {}).items():
        key = ("dockerup_action_errors_total", action)
        counters[key] = counters.get(key, 0) + count
    key = ("dockerup_runs_total", status["outcome"])
    counters[key] = counters.get(key, 0) + 1
    containers = status.get("containers") or {}
    lines = []

    def family(name, kind, help_text, samples):
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s %s" % (name, kind))
        for labels, value in samples:
            lines.append("%s%s %s" % (name, labels, _number(value)))

    family("dockerup_last_run_timestamp_seconds", "gauge", "Unix time at which the last dockerup run ended.",
           [("", float(status["finished"]))])
    family("dockerup_last_run_duration_seconds", "gauge", "How long the last dockerup run took, in seconds.",
           [("", float(status["duration_seconds"]))])
    family("dockerup_last_run_success", "gauge",
           "1 if the last dockerup run converged every container, 0 if it failed or was interrupted.",
           [("", 1 if status["outcome"] == "ok" else 0)])
    family("dockerup_last_run_exit_code", "gauge", "Exit code of the last dockerup run (0 ok, 1 failed, 130 interrupted).",
           [("", status["exit_code"])])
    family("dockerup_containers", "gauge",
           "Containers of the last run: listed by the definitions, running after it, failed to converge.",
           [('{state="%s"}' % state, len(containers.get(state) or ())) for state in STATES])
    actions = sorted(set(ACTIONS) | {label for (name, label) in counters if name != "dockerup_runs_total"})
    family("dockerup_actions_total", "counter", "Actions dockerup carried out, by action, since this file was created.",
           [('{action="%s"}' % action, counters.get(("dockerup_actions_total", action), 0)) for action in actions])
    family("dockerup_action_errors_total", "counter", "Actions of dockerup that failed, by action, since this file was created.",
           [('{action="%s"}' % action, counters.get(("dockerup_action_errors_total", action), 0)) for action in actions])
    family("dockerup_runs_total", "counter", "dockerup runs by outcome, since this file was created.",
           [('{outcome="%s"}' % outcome, counters.get(("dockerup_runs_total", outcome), 0)) for outcome in OUTCOMES])
    family("dockerup_image_updates_pending", "gauge",
           "Images with a newer version in their registry that the last run found and did not apply.",
           [("", len(status.get("pending_updates") or []))])
    return "\n".join(lines) + "\n"


def write(path, status):
    """Render ``status`` and replace ``path`` atomically (mode 0644: node_exporter runs as another user)."""
    atomic_write(path, render(status, read_counters(path)))
    return path
