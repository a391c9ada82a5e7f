# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status document, its file and check view, and the Prometheus metrics file (status.py, metrics.py)."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import cli, metrics, report, status

T0 = 1764820000.0


def a_report():
    """A run that replaced web, failed to create api, pulled an update for one image and not another."""
    actions = [
        {"container": "web, worker", "action": "pull", "reasons": ["image update available for r/web:1: a -> b"], "image": "r/web:1"},
        {"container": "web", "action": "replace", "reasons": ["definition changed: env.GREETING"]},
        {"container": "web", "action": "start", "reasons": ["not running (exited 1)"]},
        {"container": "api", "action": "create", "reasons": ["not present"], "error": "no such image"},
    ]
    current = {
        "web": {"id": "1", "image": "r/web:1", "image_id": "sha256:b", "status": "running", "ports": {}},
        "worker": {"id": "2", "image": "r/web:1", "image_id": "sha256:a", "status": "exited", "ports": {}},
    }
    result = report.build_report(actions, ["web", "worker", "api"], current, ["pull of r/db:2 failed"],
                                 {"api": "create failed: no such image"},
                                 updates=[{"image": "r/db:2", "containers": ["db"], "reason": "image update available"}])
    return result


def test_build_from_a_report():
    document = status.build(a_report(), T0, T0 + 2.5, 1, interval=60)
    assert document["outcome"] == "failed" and document["exit_code"] == 1
    assert document["started_at"] == "2025-12-04T03:46:40Z"
    assert document["duration_seconds"] == 2.5
    assert document["containers"] == {
        "listed": ["web", "worker", "api"],
        "running": ["web"],
        "changed": {"web": ["replace: definition changed: env.GREETING", "start: not running (exited 1)"]},
        "failed": {"api": "create failed: no such image"},
    }
    assert document["actions"] == {"pull": 1, "replace": 1, "start": 1}
    assert document["action_errors"] == {"create": 1}
    assert document["pending_updates"] == [{"image": "r/db:2", "containers": ["db"], "reason": "image update available"}]
    assert document["warnings"] == ["pull of r/db:2 failed"]
    assert document["error"] == "1 container(s) not converged: api: create failed: no such image"
    assert document["last_error"] == {"at": "2025-12-04T03:46:42Z", "time": T0 + 2.5, "message": document["error"]}
    json.dumps(document)  # plain data


@pytest.mark.parametrize("code, outcome", [(0, "ok"), (2, "ok"), (1, "failed"), (130, "interrupted")])
def test_outcome_follows_the_exit_code(code, outcome):
    assert status.build(None, T0, T0, code)["outcome"] == outcome


def test_the_last_error_is_carried_on_by_runs_without_one():
    failed = status.build(None, T0, T0 + 1, 1, error="cannot reach the Docker engine at x")
    ok = status.build(report.build_report([], [], {}, [], {}), T0 + 60, T0 + 61, 0, previous=failed)
    assert ok["error"] is None
    assert ok["last_error"]["message"] == "cannot reach the Docker engine at x"
    assert status.build(None, T0, T0, 0, previous=None)["last_error"] is None


def test_pending_updates_are_those_not_brought_to_every_container():
    planned = [
        {"action": "pull", "container": "a, b", "image": "r/x:1", "reasons": ["image update available for r/x:1"], "new_digest": "d"},
        {"action": "pull", "container": "c", "image": "r/y:1", "reasons": ["image update available for r/y:1"], "new_digest": "e"},
        {"action": "pull", "container": "d", "image": "r/z:1", "reasons": ["image r/z:1 is not on the host"]},
    ]
    definitions = [{"name": n, "image": i} for n, i in (("a", "r/x:1"), ("b", "r/x:1"), ("c", "r/y:1"), ("d", "r/z:1"))]
    # check mode: every update found is pending; a missing image is no update
    assert [u["image"] for u in report.pending_updates(planned, definitions)] == ["r/x:1", "r/y:1"]
    final = {"a": {"image_id": "new-x"}, "b": {"image_id": "old-x"}, "c": {"image_id": "new-y"}}
    # b still runs the old image: pending; y reached its container
    assert report.pending_updates(planned, definitions, final, {"r/x:1": "new-x", "r/y:1": "new-y"}) == [
        {"image": "r/x:1", "containers": ["a", "b"], "reason": "image update available for r/x:1"}]
    # a failed pull leaves the update pending
    assert [u["image"] for u in report.pending_updates(planned, definitions, final, {"r/x:1": "new-x"})] == ["r/x:1", "r/y:1"]


def test_write_is_atomic_and_readable_by_monitoring(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    document = status.build(None, T0, T0 + 1, 1, error="boom")
    status.write(str(cache), document)
    assert status.read(str(cache)) == document
    assert stat.S_IMODE(os.stat(cache / "status.json").st_mode) == 0o644
    assert os.listdir(cache) == ["status.json"]  # no temporary file left

    # A failure half-way leaves the old file whole and no temporary file behind.
    def broken(_fd, _mode):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fchmod", broken)
    with pytest.raises(OSError):
        status.write(str(cache), status.build(None, T0, T0, 0))
    assert status.read(str(cache)) == document
    assert os.listdir(cache) == ["status.json"]


def test_read_missing_and_garbage(tmp_path):
    assert status.read(str(tmp_path)) is None
    (tmp_path / "status.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a status document"):
        status.read(str(tmp_path))
    (tmp_path / "status.json").write_text('{"finished": 1, "outcome": "maybe"}')
    with pytest.raises(ValueError, match="not a status document"):
        status.read(str(tmp_path))
    assert status.read_previous(str(tmp_path)) is None
    (tmp_path / "status.json").write_text("[" * 100000 + "]" * 100000)  # no RecursionError, in any run
    with pytest.raises(ValueError, match="not a status document"):
        status.read(str(tmp_path))
    assert status.read_previous(str(tmp_path)) is None


def test_check_codes_and_lines():
    web = {"id": "1", "image": "i", "image_id": "s", "status": "running", "ports": {}}
    ok = status.build(report.build_report([], ["web"], {"web": web}, [], {}), T0, T0 + 1, 0, interval=60)
    code, lines = status.check(ok, T0 + 61, 180, "c/status.json")
    assert code == status.OK
    assert lines[0] == "dockerup OK: last run ok 1 min 0 s ago (2025-12-04T03:46:41Z, took 1.0 s, exit 0)"
    assert lines[1] == "containers: 1 listed, 1 running, 0 changed, 0 failed"
    code, lines = status.check(ok, T0 + 1 + 181, 180, "c/status.json")
    assert code == status.CRITICAL and lines[0].endswith("; stale: older than 3 min 0 s")
    failed = status.build(a_report(), T0, T0 + 1, 1)
    code, lines = status.check(failed, T0 + 2, 180, "c/status.json")
    assert code == status.CRITICAL and lines[0].startswith("dockerup CRITICAL: last run failed 1 s ago")
    assert "failing: api: create failed: no such image" in lines
    assert "not running: worker" in lines
    assert "update pending: r/db:2 (db)" in lines
    assert status.check(status.build(None, T0, T0, 130), T0, 180, "x")[0] == status.WARNING
    assert status.check(None, T0, 180, "c/status.json") == (status.UNKNOWN, [
        "dockerup UNKNOWN: no status yet (c/status.json): no run has finished since dockerup was installed or the cache "
        "dir was emptied"])
    assert status.check(ValueError("c/status.json: not a status document"), T0, 180, "x")[0] == status.UNKNOWN


EXPECTED_METRICS = """\
# HELP dockerup_last_run_timestamp_seconds Unix time at which the last dockerup run ended.
# TYPE dockerup_last_run_timestamp_seconds gauge
dockerup_last_run_timestamp_seconds 1764820002.5
# HELP dockerup_last_run_duration_seconds How long the last dockerup run took, in seconds.
# TYPE dockerup_last_run_duration_seconds gauge
dockerup_last_run_duration_seconds 2.5
# HELP dockerup_last_run_success 1 if the last dockerup run converged every container, 0 if it failed or was interrupted.
# TYPE dockerup_last_run_success gauge
dockerup_last_run_success 0
# HELP dockerup_last_run_exit_code Exit code of the last dockerup run (0 ok, 1 failed, 130 interrupted).
# TYPE dockerup_last_run_exit_code gauge
dockerup_last_run_exit_code 1
# HELP dockerup_containers Containers of the last run: listed by the definitions, running after it, failed to converge.
# TYPE dockerup_containers gauge
dockerup_containers{state="listed"} 3
dockerup_containers{state="running"} 1
dockerup_containers{state="failed"} 1
# HELP dockerup_actions_total Actions dockerup carried out, by action, since this file was created.
# TYPE dockerup_actions_total counter
dockerup_actions_total{action="build"} 0
dockerup_actions_total{action="create"} 0
dockerup_actions_total{action="network"} 0
dockerup_actions_total{action="pull"} 1
dockerup_actions_total{action="recover"} 0
dockerup_actions_total{action="remove"} 0
dockerup_actions_total{action="remove_volume"} 0
dockerup_actions_total{action="replace"} 1
dockerup_actions_total{action="rollback"} 0
dockerup_actions_total{action="start"} 1
dockerup_actions_total{action="update"} 0
dockerup_actions_total{action="volume"} 0
# HELP dockerup_action_errors_total Actions of dockerup that failed, by action, since this file was created.
# TYPE dockerup_action_errors_total counter
dockerup_action_errors_total{action="build"} 0
dockerup_action_errors_total{action="create"} 1
dockerup_action_errors_total{action="network"} 0
dockerup_action_errors_total{action="pull"} 0
dockerup_action_errors_total{action="recover"} 0
dockerup_action_errors_total{action="remove"} 0
dockerup_action_errors_total{action="remove_volume"} 0
dockerup_action_errors_total{action="replace"} 0
dockerup_action_errors_total{action="rollback"} 0
dockerup_action_errors_total{action="start"} 0
dockerup_action_errors_total{action="update"} 0
dockerup_action_errors_total{action="volume"} 0
# HELP dockerup_runs_total dockerup runs by outcome, since this file was created.
# TYPE dockerup_runs_total counter
dockerup_runs_total{outcome="ok"} 0
dockerup_runs_total{outcome="failed"} 1
dockerup_runs_total{outcome="interrupted"} 0
# HELP dockerup_image_updates_pending Images with a newer version in their registry that the last run found and did not apply.
# TYPE dockerup_image_updates_pending gauge
dockerup_image_updates_pending 1
"""


def test_metrics_exact_format():
    assert metrics.render(status.build(a_report(), T0, T0 + 2.5, 1)) == EXPECTED_METRICS


def test_metrics_counters_go_on_from_the_previous_file(tmp_path):
    path = str(tmp_path / "dockerup.prom")
    metrics.write(path, status.build(a_report(), T0, T0 + 2.5, 1))
    ok = report.build_report([{"container": "db", "action": "create", "reasons": ["not present"]}], ["db"], {}, [], {})
    metrics.write(path, status.build(ok, T0 + 60, T0 + 61, 0))
    text = open(path).read()
    assert 'dockerup_actions_total{action="replace"} 1\n' in text
    assert 'dockerup_actions_total{action="create"} 1\n' in text
    assert 'dockerup_action_errors_total{action="create"} 1\n' in text
    assert 'dockerup_runs_total{outcome="ok"} 1\n' in text and 'dockerup_runs_total{outcome="failed"} 1\n' in text
    assert "dockerup_last_run_success 1\n" in text
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(tmp_path) == ["dockerup.prom"]


def test_metrics_counters_of_a_foreign_or_huge_file_start_at_zero(tmp_path):
    path = tmp_path / "dockerup.prom"
    path.write_text('dockerup_actions_total{action="create"} 5\nother_total{action="create"} 9\n# junk\n')
    assert metrics.read_counters(str(path)) == {("dockerup_actions_total", "create"): 5.0}
    path.write_text('dockerup_actions_total{action="create"} 5\n' + "#" * metrics.MAX_BYTES)
    assert metrics.read_counters(str(path)) == {}  # beyond the bound: not read at all
    assert metrics.read_counters(str(tmp_path / "missing.prom")) == {}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
def test_promtool_accepts_the_metrics(tmp_path):
    text = metrics.render(status.build(a_report(), T0, T0 + 2.5, 1))
    checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr


# ---------------------------------------------------------------- the command
def run_failing(tmp_path, *extra):
    """A run of the command against an engine that is not there (exit 1)."""
    return cli.main(["--config", "/dev/null", "--confdir", str(tmp_path), "--cache", str(tmp_path / "cache"),
                     "--remote", "unix:///nonexistent.sock"] + list(extra))


def test_a_failed_run_writes_status_and_metrics(tmp_path, capsys):
    prom = tmp_path / "textfile" / "dockerup.prom"
    prom.parent.mkdir()
    assert run_failing(tmp_path, "--metrics-file", str(prom)) == cli.EXIT_ERROR
    document = status.read(str(tmp_path / "cache"))
    assert document["outcome"] == "failed" and document["exit_code"] == 1
    assert "nonexistent.sock" in document["error"]
    assert "dockerup_last_run_success 0\n" in prom.read_text()
    capsys.readouterr()
    assert cli.main(["--cache", str(tmp_path / "cache"), "status"]) == status.CRITICAL
    assert capsys.readouterr().out.startswith("dockerup CRITICAL: last run failed")


def test_check_mode_writes_no_status(tmp_path):
    prom = tmp_path / "dockerup.prom"
    assert run_failing(tmp_path, "--check", "--metrics-file", str(prom)) == cli.EXIT_ERROR
    assert not (tmp_path / "cache" / "status.json").exists() and not prom.exists()


def test_a_bad_config_is_a_failed_run_too(tmp_path):
    conf = tmp_path / "dockerup.conf"
    conf.write_text("interval=60s\n")
    assert cli.main(["--config", str(conf), "--cache", str(tmp_path / "cache")]) == cli.EXIT_ERROR
    assert "interval=60s" in status.read(str(tmp_path / "cache"))["error"]


def test_metrics_file_from_the_config(tmp_path):
    conf = tmp_path / "dockerup.conf"
    conf.write_text("metrics_file=%s\n" % (tmp_path / "m.prom"))
    assert cli.settings(["--config", str(conf)])["metrics_file"] == str(tmp_path / "m.prom")
    assert cli.settings(["--config", str(conf), "--metrics-file", "/x.prom"])["metrics_file"] == "/x.prom"


def test_an_unwritable_metrics_file_is_a_warning(tmp_path, capsys):
    assert run_failing(tmp_path, "--metrics-file", str(tmp_path / "no" / "such" / "dir.prom")) == cli.EXIT_ERROR
    assert "dockerup: warning: could not write the metrics file" in capsys.readouterr().err
    assert status.read(str(tmp_path / "cache")) is not None


@pytest.mark.parametrize("argv, command, rest", [
    (["status"], "status", []),
    (["--cache", "/c", "status", "--json"], "status", ["--cache", "/c", "--json"]),
    (["--scope", "status"], None, ["--scope", "status"]),  # a flag's value, not the command
    (["--check"], None, ["--check"]),
])
def test_status_is_a_command_wherever_a_positional_may_be(argv, command, rest):
    assert cli.split_command(argv) == (command, rest)


def test_status_command_codes(tmp_path, capsys):
    cache = str(tmp_path)
    assert cli.main(["status", "--cache", cache]) == status.UNKNOWN  # fresh: no run yet
    status.write(cache, status.build(None, T0, T0 + 1, 0, interval=60))  # ok, but long ago
    assert cli.main(["status", "--cache", cache]) == status.CRITICAL
    import time
    now = time.time()
    # A run that ended 10 s ago: every age below is far from it, however slow this machine is.
    status.write(cache, status.build(None, now - 11, now - 10, 0, interval=60))
    assert cli.main(["status", "--cache", cache]) == status.OK  # the default max age: 3 intervals (180 s)
    assert cli.main(["status", "--cache", cache, "--max-age", "0.001"]) == status.CRITICAL
    assert cli.main(["status", "--cache", cache, "--max-age", "5"]) == status.CRITICAL
    assert cli.main(["status", "--cache", cache, "--max-age", "60"]) == status.OK
    capsys.readouterr()
    assert cli.main(["status", "--cache", cache, "--json"]) == status.OK
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "OK" and shown["max_age_seconds"] == 180 and shown["status"]["outcome"] == "ok"
    with pytest.raises(SystemExit) as exited:
        cli.main(["status", "--bogus"])
    assert exited.value.code == status.UNKNOWN


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed")
@pytest.mark.parametrize("doc", ["docs/monitoring.md", "docs/hosts.md"])
def test_promtool_accepts_the_documented_alerting_rules(doc, tmp_path):
    import re
    root = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
    text = open(os.path.join(root, doc), encoding="utf-8").read()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    rules = [block for block in blocks if block.lstrip("# ").find("groups:") >= 0]
    assert rules, "no alerting rules in %s" % doc
    for number, block in enumerate(rules):
        path = tmp_path / ("rules-%d.yml" % number)
        path.write_text(block)
        checked = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
