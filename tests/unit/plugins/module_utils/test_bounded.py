# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and careless input, as fixed regression cases: every one is a clean error (or a warning)
naming the file, costs the run less than 100 MB and ends well within 10 s, and leaks nothing.

Whatever could exhaust the machine if a limit regressed runs in a child process under an address
space limit (RLIMIT_AS), never in the test process itself.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import bounded, sources

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
COMMAND = os.path.join(ROOT, "bin", "dockerup")
ADDRESS_SPACE = 1024 ** 3  # the child's ceiling: far above a good run, far below the machine
PEAK_RSS_LIMIT_KB = 100 * 1024
TIME_LIMIT = 10

# The child runs the host command, and writes its own peak memory when it exits (VmHWM: ru_maxrss
# would count the test process it was forked from).
RUNNER = textwrap.dedent("""
    import atexit, re, runpy, sys
    def peak():
        with open("/proc/self/status") as status:
            sys.stderr.write("PEAK_RSS_KB %s\\n" % re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
    atexit.register(peak)
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
""")

LAUGHS = textwrap.dedent("""\
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
""")


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def start_command(args, config_text="", env=None):
    """The host command in a child under the address-space limit; returns (process, config path)."""
    config = args.pop("config")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write(config_text)
    argv = [sys.executable, "-c", RUNNER, COMMAND, "--config", config, "--cache", args["cache"], "--check"]
    argv += args.get("extra", [])
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory,
                            env=dict(os.environ, **(env or {})))


def run_command(tmp_path, config_text="", extra=()):
    """Run the host command with ``--check`` on ``tmp_path/confdir``; returns (exit, stdout, stderr, peak KB, seconds)."""
    (tmp_path / "cache").mkdir(exist_ok=True)
    began = time.monotonic()
    process = start_command({"config": str(tmp_path / "dockerup.conf"), "cache": str(tmp_path / "cache"),
                             "extra": ["--confdir", str(tmp_path / "confdir")] + list(extra)}, config_text)
    try:
        out, err = process.communicate(timeout=TIME_LIMIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the run took more than %d s" % TIME_LIMIT)
    seconds = time.monotonic() - began
    peak = [int(line.split()[1]) for line in err.splitlines() if line.startswith("PEAK_RSS_KB ")]
    err = "\n".join(line for line in err.splitlines() if not line.startswith("PEAK_RSS_KB "))
    assert "Traceback" not in err + out
    return process.returncode, out, err, peak[0] if peak else None, seconds


@pytest.fixture()
def confdir(tmp_path):
    path = tmp_path / "confdir"
    path.mkdir()
    return path


def deep(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("name, content, expected", [
    ("laughs.yaml", LAUGHS, "more than 100000 values"),
    ("deep.json", deep(100000), "nested deeper than 32 levels"),
    ("deep.yaml", deep(100000), "nested deeper than 32 levels"),
    ("deep-block.yaml", "".join("  " * i + "k:\n" for i in range(600)), "nested deeper than 32 levels"),
    ("big.json", json.dumps({"name": "big", "image": "i", "env": {"A": "x" * (2 * 1024 * 1024)}}), "more than the limit of 1048576"),
    ("latin1.json", b'{"name": "caf\xe9"}', "not UTF-8 text"),
    ("code.yaml", "!!python/object/apply:os.system ['touch {marker}']", "not valid YAML"),
    ("huge-int.json", '{"name": "x", "cpu": %s}' % ("9" * 5000), "not valid JSON"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 20 else "")
def test_hostile_file_is_a_clean_error_within_bounds(tmp_path, confdir, name, content, expected):
    marker = tmp_path / "executed"
    data = content.replace("{marker}", str(marker)) if isinstance(content, str) else content
    (confdir / name).write_bytes(data.encode() if isinstance(data, str) else data)
    code, out, err, peak, _seconds = run_command(tmp_path)
    assert code == 1
    assert "nothing was changed" in err
    assert "%s: %s" % (confdir / name, expected) in err
    assert peak is not None and peak < PEAK_RSS_LIMIT_KB, "peak RSS %s KB" % peak
    assert not marker.exists()
    assert out == ""


def test_fifo_and_link_to_a_secret_are_errors_that_leak_nothing(tmp_path, confdir):
    secret = tmp_path / "shadow"
    secret.write_text("root:$y$j9T$s3cr3tHashValue:19000:0:99999:7:::\n")
    os.symlink(str(secret), str(confdir / "x.json"))
    os.symlink(str(secret), str(confdir / "y.yaml"))
    os.mkfifo(str(confdir / "pipe.json"))
    os.symlink(str(tmp_path / "nowhere"), str(confdir / "dangling.json"))
    code, out, err, _peak, _seconds = run_command(tmp_path)
    assert code == 1
    assert "%s: not a regular file" % (confdir / "pipe.json") in err
    assert "%s: not valid JSON" % (confdir / "x.json") in err
    assert "%s: container #1: (definition): an unknown key of 45 characters (not shown)" % (confdir / "y.yaml") in err
    assert "%s: cannot be read: No such file or directory" % (confdir / "dangling.json") in err
    for piece in ("root:", "$y$", "j9T", "s3cr3t", "HashValue", "19000", "99999", ":7:"):
        assert piece not in err + out, piece


def test_too_many_definitions_are_an_error(tmp_path, confdir):
    many = [{"name": "c%04d" % i, "image": "i"} for i in range(sources.MAX_CONTAINERS + 5)]
    (confdir / "many.json").write_text(json.dumps({"containers": many}))
    code, _out, err, peak, _seconds = run_command(tmp_path)
    assert code == 1
    assert "containers[1000]: more than 1000 container definitions in all sources together" in err
    assert peak < PEAK_RSS_LIMIT_KB


def test_too_many_files_and_too_many_bytes_are_errors(tmp_path, confdir):
    for index in range(sources.MAX_FILES + 1):
        (confdir / ("%04d.json" % index)).write_text("{}")
    assert "more than 1000 definition files" in sources.read_sources(confdir=str(confdir)).problems[0]
    for path in confdir.iterdir():
        path.unlink()
    filler = json.dumps({"name": "x", "image": "i", "labels": {"a": "x" * (1024 * 1024 - 100)}})
    for index in range(5):
        (confdir / ("%d.json" % index)).write_text(filler)
    problems = sources.read_sources(confdir=str(confdir)).problems
    assert problems == ["%s: the definition files up to this one hold more than 4194304 bytes together" % (confdir / "4.json")]


def test_many_errors_are_counted_not_all_written(tmp_path, confdir):
    bad = [{"name": "c%04d" % i, "image": "i", "portMapping": []} for i in range(300)]
    (confdir / "bad.json").write_text(json.dumps({"containers": bad}))
    code, _out, err, _peak, _seconds = run_command(tmp_path)
    assert code == 1
    assert "300 problems in container definitions" in err
    assert "- ... and 250 more" in err
    assert len(err) < 20000


def test_config_file_beyond_the_limit_is_one_clean_line(tmp_path, confdir):
    code, _out, err, _peak, _seconds = run_command(tmp_path, config_text="# " + "x" * (2 * 1024 * 1024))
    assert code == 1
    assert err.strip().endswith("more than the limit of 1048576 bytes")
    assert len(err.strip().splitlines()) == 1


def test_sigterm_while_reading_ends_the_run_at_once(tmp_path, confdir, imds):
    """The run holds the lock and reads user-data from a server that trickles it: SIGTERM ends it."""
    imds.set("trickle", '{"containers": []}', hang_seconds=30)
    (tmp_path / "cache").mkdir()
    process = start_command({"config": str(tmp_path / "dockerup.conf"), "cache": str(tmp_path / "cache"),
                             "extra": ["--confdir", str(confdir), "--remote", "unix:///nonexistent.sock"]},
                            "aws=true\nuser_data_endpoint=%s\n" % imds.url)
    lock = str(tmp_path / "cache" / "lock")
    for _unused in range(300):  # the lock is taken after the signal handlers are in place (30 s on a busy machine)
        fds = "/proc/%d/fd" % process.pid
        try:
            if any(os.path.realpath(os.path.join(fds, fd)) == lock for fd in os.listdir(fds)):
                break
        except OSError:
            break  # it ended already: the assertions below say how
        time.sleep(0.1)
    time.sleep(0.3)
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=TIME_LIMIT)
    assert time.monotonic() - began < 2
    assert process.returncode == 130, err
    assert "before anything was changed" in err
    assert "Traceback" not in err + out


# ------------------------------------------------------------------ user-data (an IMDS stand-in)

USER_DATA_PROBE = textwrap.dedent("""
    import json, sys, time
    from ansible_collections.dockerup.bootstrap.plugins.module_utils import sources
    began = time.monotonic()
    found = sources.read_sources(user_data=True, endpoint=sys.argv[1], cache=sys.argv[2])
    print(json.dumps({"seconds": time.monotonic() - began, "warnings": found.warnings,
                      "names": [raw.get("name") for raw, _o, _s in found.entries], "unread": sorted(found.unread)}))
""")


def read_user_data_in_child(imds, cache):
    """sources.read_sources(user_data=True) in a child under the address-space limit."""
    process = subprocess.run(
        [sys.executable, "-c", USER_DATA_PROBE, imds.url, str(cache)], capture_output=True, text=True,
        timeout=TIME_LIMIT + 5, preexec_fn=_limit_memory, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), check=False)
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


@pytest.mark.parametrize("mode, body, reason", [
    ("stream", "", "more than the limit of 1048576 bytes"),
    ("trickle", '{"containers": []}', "within the deadline"),
], ids=["stream", "trickle"])
def test_endless_or_slow_user_data_counts_as_unreadable(tmp_path, imds, mode, body, reason):
    sources.store_user_data(str(tmp_path), json.dumps({"containers": [{"name": "kept", "image": "i"}]}))
    imds.set(mode, body, hang_seconds=60)
    result = read_user_data_in_child(imds, tmp_path)
    assert result["names"] == ["kept"]
    assert reason in result["warnings"][0] and "using the last good copy" in result["warnings"][0]
    assert result["seconds"] < sources.IMDS_DEADLINE + 1


def test_gzip_bomb_user_data_counts_as_unreadable(tmp_path, imds, monkeypatch):
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))
    assert len(bomb) < 100 * 1024
    monkeypatch.setattr(bounded, "http_request", lambda method, url, headers, deadline, limit=0: (200, bomb))
    with pytest.raises(OSError, match="more than 1048576 bytes once decompressed"):
        sources.fetch_user_data(imds.url)
    sources.store_user_data(str(tmp_path), json.dumps({"containers": [{"name": "kept", "image": "i"}]}))
    found = sources.read_sources(user_data=True, endpoint=imds.url, cache=str(tmp_path))
    assert [raw["name"] for raw, _origin, _source in found.entries] == ["kept"]
    assert "more than 1048576 bytes once decompressed" in found.warnings[0] and "using the last good copy" in found.warnings[0]


def test_oversized_last_good_copy_is_not_used(tmp_path):
    (tmp_path / sources.USER_DATA_CACHE).write_text(json.dumps({"containers": [], "pad": "x" * (2 * 1024 * 1024)}))
    found = sources.read_sources(user_data=True, endpoint="http://127.0.0.1:9", cache=str(tmp_path))
    assert found.unread == {"user-data"} and "no last good copy" in found.warnings[0]


@pytest.mark.parametrize("text", [deep(40), "[" * 5000], ids=["deep", "open"])
def test_yaml_nesting_is_refused_on_the_event_stream_before_any_node_is_built(text, monkeypatch):
    def load(*_args, **_kwargs):
        raise AssertionError("a document was built")

    monkeypatch.setattr(bounded.yaml, "load", load)
    with pytest.raises(bounded.InputError, match="^nested deeper than 32 levels$"):
        bounded.parse_yaml(text)


def test_yaml_aliases_count_as_what_they_repeat():
    with pytest.raises(bounded.InputError, match="^more than 100000 values"):
        bounded.parse_yaml(LAUGHS)


def test_yaml_error_quotes_no_input():
    with pytest.raises(bounded.InputError) as info:
        bounded.parse_yaml("password: s3cr3t\n  bad: [indent")
    assert "s3cr3t" not in str(info.value) and "line" in str(info.value)


def test_shape_counts_aliases_as_expanded():
    shared = ["x"] * 50
    document = {"a": [shared] * 100}
    bounded.check_shape(document)  # 5,000 values
    with pytest.raises(bounded.InputError, match="more than 100000 values"):
        bounded.check_shape({"a": [[shared] * 100] * 30})
