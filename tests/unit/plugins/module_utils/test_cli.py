# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import cli

ORIGINAL_CONF = """\
; Container configuration files
confdir=/etc/dockerup/containers.d

; Docker remote socket
remote=unix://var/run/docker.sock

; Polling interval for image changes
interval=60

; Check EC2 user-data for container configuration
aws=false

; Also pull images from the registry when checking for container
; configuration updates
pull=true
"""


def test_the_original_config_file_parses():
    assert cli.parse_config(ORIGINAL_CONF) == {
        "confdir": "/etc/dockerup/containers.d",
        "remote": "unix://var/run/docker.sock",
        "interval": 60,
        "aws": False,
        "pull": True,
    }


def test_comments_blank_lines_and_spaces():
    assert cli.parse_config("# hash\n\n   ; semi\n  aws = yes  \nscope= web\n") == {"aws": True, "scope": "web"}


@pytest.mark.parametrize("text, message", [
    ("interval=60s", "dockerup.conf:1: interval=60s: expected a whole number of seconds"),
    ("interval=0", "interval=0: must be at least 1"),
    ("aws=maybe", "aws=maybe: expected true or false"),
    ("cleanup=all", "cleanup=all: expected one of managed, none, host"),
    ("\nconfdri=/x", "dockerup.conf:2: unknown key 'confdri'"),
    ("just words", "dockerup.conf:1: expected key=value"),
])
def test_bad_config_is_a_clear_error(text, message):
    with pytest.raises(cli.ConfigError) as info:
        cli.parse_config(text, "dockerup.conf")
    assert message in str(info.value)


def test_precedence_defaults_file_flags(tmp_path):
    conf = tmp_path / "dockerup.conf"
    conf.write_text("confdir=/from/file\naws=true\npull=false\ninterval=30\nremote=unix://var/run/docker.sock\n")
    values = cli.settings(["--config", str(conf), "--no-aws", "--confdir", "/from/flag"])
    assert values["confdir"] == "/from/flag"  # flag beats file
    assert values["aws"] is False  # flag beats file
    assert values["pull"] is False  # file beats default
    assert values["interval"] == 30
    assert values["scope"] == "default"  # default
    assert values["remote"] == "unix:///var/run/docker.sock"  # the original's spelling, made absolute


def test_missing_explicit_config_is_an_error(tmp_path):
    with pytest.raises(cli.ConfigError, match="config file not found"):
        cli.settings(["--config", str(tmp_path / "nope.conf")])


def test_bad_config_exits_1_with_one_line(tmp_path, capsys):
    conf = tmp_path / "dockerup.conf"
    conf.write_text("interval=60s\n")
    assert cli.main(["--config", str(conf), "--cache", str(tmp_path / "cache")]) == cli.EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interval=60s" in err[0]


def test_definition_errors_exit_1_and_json_is_one_document(tmp_path, capsys):
    confdir = tmp_path / "conf.d"
    confdir.mkdir()
    (confdir / "web.json").write_text('{"name": "web", "image": "x", "portMapping": []}')
    code = cli.main(["--config", "/dev/null", "--confdir", str(confdir), "--cache", str(tmp_path / "cache"), "--json",
                     "--remote", "unix:///nonexistent.sock"])
    assert code == cli.EXIT_ERROR
    import json
    document = json.loads(capsys.readouterr().out)
    assert "web.json: container 'web': portMapping: unknown key" in document["errors"]["dockerup"]


@pytest.mark.parametrize("text", ["1: web\nname: web\nimage: x\n", "name: web\nimage: x\nenv: {null: 1}\n"],
                         ids=["int-key", "null-key-inside"])
def test_yaml_keys_that_are_not_strings_are_a_definition_error(tmp_path, capsys, text):
    confdir = tmp_path / "conf.d"
    confdir.mkdir()
    (confdir / "web.yaml").write_text(text)
    code = cli.main(["--config", "/dev/null", "--confdir", str(confdir), "--cache", str(tmp_path / "cache"), "--check",
                     "--remote", "unix:///nonexistent.sock"])
    assert code == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "web.yaml: container 'web'" in err and "internal error" not in err


@pytest.fixture
def held_lock(tmp_path):
    """The cache dir's run lock, held by another open file (as another run would hold it)."""
    import fcntl
    cache = tmp_path / "cache"
    cache.mkdir()
    with open(cache / "lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield cache


def test_a_busy_lock_is_announced_then_given_up(held_lock, tmp_path, capsys):
    confdir = tmp_path / "conf.d"
    confdir.mkdir()
    code = cli.main(["--config", "/dev/null", "--confdir", str(confdir), "--cache", str(held_lock), "--lock-wait", "0.5",
                     "--remote", "unix:///nonexistent.sock"])
    assert code == cli.EXIT_ERROR
    out, err = capsys.readouterr()
    assert out.count("waiting up to 0.5 s for another dockerup run to finish") == 1
    assert err.strip() == "dockerup: another dockerup run holds %s/lock; gave up after 0.5 s" % held_lock


def test_a_stop_while_waiting_for_the_lock_ends_the_run_unchanged(held_lock, tmp_path):
    from ansible_collections.dockerup.bootstrap.plugins.module_utils import engine, errors
    with pytest.raises(errors.Interrupted, match="nothing was changed"):
        with engine.run_lock(str(held_lock), wait=30, stop_requested=lambda: True):
            raise AssertionError("the lock was taken while another run held it")


def test_help_lists_every_flag_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--config", "--cache", "--confdir", "--aws", "--no-aws", "--pull", "--no-pull", "--server", "--interval",
                 "--remote", "--scope", "--lock-wait", "--metrics-file", "--check", "--diff", "--json", "--version"):
        assert flag in out
    assert "Exit codes: 0 converged" in " ".join(out.split())


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == "dockerup %s" % cli.VERSION


def test_a_user_data_endpoint_that_is_not_http_is_a_clear_error(tmp_path, capsys):
    conf = tmp_path / "dockerup.conf"
    conf.write_text("aws=true\nuser_data_endpoint=https://169.254.169.254\n")
    code = cli.main(["--config", str(conf), "--cache", str(tmp_path / "cache"), "--check", "--remote", "unix:///nonexistent.sock"])
    assert code == cli.EXIT_ERROR
    assert "user_data_endpoint must be an http:// URL, not 'https://169.254.169.254'" in capsys.readouterr().err
    assert not (tmp_path / "cache").exists()
