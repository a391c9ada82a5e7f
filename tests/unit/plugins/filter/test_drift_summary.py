# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.dockerup.bootstrap.plugins.filter.drift_summary import FilterModule

summary = FilterModule().filters()["drift_summary"]


def test_one_line_per_host_and_change():
    results = {
        "h2": {"changed": True, "actions": [
            {"container": "web, worker", "action": "pull", "reasons": ["image update available for r/web:2: a -> b"], "image": "r/web:2"},
            {"container": "web", "action": "replace", "reasons": ["image update available for r/web:2: a -> b"]},
            {"container": "worker", "action": "update", "reasons": ["restart is 'no' on the live container, the definition says 'always'"]},
        ], "pending_updates": [{"image": "r/web:2", "containers": ["web"], "reason": "image update available"}]},
        "h1": {"changed": False, "actions": [], "pending_updates": []},
        "h3": {"unreachable": True, "msg": "Task failed: Failed to connect\nmore"},
        "h4": {"failed": True, "msg": "1 problem in container definitions; nothing was changed:\n- x", "actions": []},
        "h5": None,
    }
    result = summary(results)
    assert result["counts"] == {"in_sync": 1, "drift": 1, "failed": 1, "unreachable": 2, "updates": 1}
    assert result["lines"] == [
        "dockerup drift: 5 host(s): 1 in sync, 1 with changes pending, 1 failed, 2 unreachable; 1 image update(s) available",
        "h1: in sync",
        "h2: replace web: image update available for r/web:2: a -> b",
        "h2: update worker: restart is 'no' on the live container, the definition says 'always'",
        "h2: update available: r/web:2 (web)",
        "h3: UNREACHABLE: Failed to connect",
        "h4: FAILED: 1 problem in container definitions; nothing was changed:",
        "h5: UNREACHABLE: no result (unreachable)",
    ]
    assert result["hosts"]["h2"]["changes"][0] == {"container": "web", "action": "replace",
                                                   "reasons": ["image update available for r/web:2: a -> b"]}


def test_empty():
    assert summary({})["lines"] == [
        "dockerup drift: 0 host(s): 0 in sync, 0 with changes pending, 0 failed, 0 unreachable; 0 image update(s) available"]


def test_warnings_are_listed_and_leave_the_state():
    warned = "user-data could not be fetched (timed out); using the last good copy\nmore"
    results = {
        "h1": {"changed": False, "actions": [], "pending_updates": [], "status": {"warnings": [warned]}},
        "h2": {"changed": False, "actions": [], "pending_updates": [], "warnings": ["401: credentials for r were refused"]},
        "h3": {"changed": False, "actions": [], "pending_updates": [], "status": {"warnings": []}},
    }
    result = summary(results)
    assert result["counts"]["in_sync"] == 3
    assert result["hosts"]["h1"]["warnings"] == [warned] and result["hosts"]["h3"]["warnings"] == []
    assert result["lines"][1:] == [
        "h1: in sync",
        "h1: warning: user-data could not be fetched (timed out); using the last good copy",
        "h2: in sync",
        "h2: warning: 401: credentials for r were refused",
        "h3: in sync",
    ]
