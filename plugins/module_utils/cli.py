# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``dockerup`` host command: the original tool's command line and config file over the engine.

    dockerup [--config FILE] [--cache DIR] [--confdir DIR] [--aws|--no-aws] [--pull|--no-pull]
             [--server] [--interval S] [--scope NAME] [--lock-wait S] [--metrics-file PATH]
             [--check] [--diff] [--json] [--version]
    dockerup status [--cache DIR] [--config FILE] [--max-age S] [--json]

Precedence: defaults < config file < flags. Exit codes: 0 converged (with --check: nothing to do),
2 with --check when changes are pending, 1 on any error, 130 when interrupted before finishing.
Every run but --check ends by writing status.json in the cache dir (and the metrics file, if any);
``dockerup status`` reads it back (exit codes in status.check).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager

from . import bounded, engine, metrics, report, sources, status
from .errors import DockerupError, Interrupted

VERSION = "0.1.0"
DEFAULT_CONFIG = "/etc/dockerup/dockerup.conf"

EXIT_OK, EXIT_ERROR, EXIT_PENDING, EXIT_INTERRUPTED = status.EXIT_OK, status.EXIT_ERROR, status.EXIT_PENDING, status.EXIT_INTERRUPTED

# key -> (type, default). Types: "str", "bool", "int", "path".
CONFIG_KEYS = {
    "confdir": ("path", sources.DEFAULT_CONFDIR),
    "remote": ("str", None),
    "interval": ("int", 60),
    "aws": ("bool", False),
    "pull": ("bool", True),
    "server": ("bool", False),
    "user_data_endpoint": ("str", sources.DEFAULT_USER_DATA_ENDPOINT),
    "scope": ("str", "default"),
    "cleanup": ("str", "managed"),
    "username": ("str", None),
    "password": ("str", None),
    "email": ("str", None),
    "registry_config": ("path", None),  # a docker-style config.json: auths, credHelpers, credsStore
    "metrics_file": ("path", None),  # Prometheus textfile collector file written after each run
}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class ConfigError(DockerupError):
    pass


def _convert(key, kind, text, where):
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError("%s: %s=%s: expected true or false" % (where, key, text))
    if kind == "int":
        try:
            value = int(text)
        except ValueError:
            raise ConfigError("%s: %s=%s: expected a whole number of seconds" % (where, key, text))
        if value < 1:
            raise ConfigError("%s: %s=%s: must be at least 1" % (where, key, text))
        return value
    if key == "cleanup" and text not in engine.CLEANUP_MODES:
        raise ConfigError("%s: cleanup=%s: expected one of %s" % (where, text, ", ".join(engine.CLEANUP_MODES)))
    return text


def parse_config(text, path="<config>"):
    """The original's ``key=value`` format: ``#`` and ``;`` comments, blank lines, spaces around ``=``."""
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        where = "%s:%d" % (path, number)
        if "=" not in stripped:
            raise ConfigError("%s: expected key=value, got %r" % (where, stripped))
        key, value = (part.strip() for part in stripped.split("=", 1))
        if key not in CONFIG_KEYS:
            raise ConfigError("%s: unknown key %r (known: %s)" % (where, key, ", ".join(sorted(CONFIG_KEYS))))
        values[key] = _convert(key, CONFIG_KEYS[key][0], value, where)
    return values


def read_config(path, required):
    try:
        return parse_config(bounded.read_text(path, devices=True), path)  # /dev/null: no config
    except bounded.InputError as exc:
        raise ConfigError("%s: %s" % (path, exc))
    except FileNotFoundError:
        if required:
            raise ConfigError("%s: config file not found" % path)
        return {}
    except OSError as exc:
        raise ConfigError("%s: cannot be read: %s" % (path, exc.strerror or exc))


def build_parser():
    parser = argparse.ArgumentParser(
        prog="dockerup",
        description="Converge this host's Docker engine with the containers defined in the confdir and EC2 user-data.",
        epilog="Exit codes: 0 converged (with --check: nothing to do), 2 with --check when changes are pending, "
               "1 on any error, 130 when interrupted. `dockerup status --help`: the last run's status.",
    )
    parser.add_argument("--config", help="config file (key=value; default %s)" % DEFAULT_CONFIG)
    parser.add_argument("--cache", default=engine.DEFAULT_CACHE, help="cache dir: last good user-data, lock (default %(default)s)")
    parser.add_argument("--confdir", help="directory of container definition files (*.json)")
    parser.add_argument("--remote", help="Docker engine address (default: DOCKER_HOST or the local socket)")
    parser.add_argument("--aws", dest="aws", action="store_true", default=None, help="also read EC2 user-data")
    parser.add_argument("--no-aws", dest="aws", action="store_false", help="do not read EC2 user-data")
    parser.add_argument("--pull", dest="pull", action="store_true", default=None, help="check registries for newer images")
    parser.add_argument("--no-pull", dest="pull", action="store_false", help="pull only missing images")
    parser.add_argument("--server", dest="server", action="store_true", default=None,
                        help="keep running, converging every `interval` seconds")
    parser.add_argument("--interval", type=int, help="seconds between runs with --server")
    parser.add_argument("--lock-wait", type=float, default=300.0, metavar="SECONDS",
                        help="how long to wait for another run's lock before giving up (default %(default)g)")
    parser.add_argument("--scope", help="which managed set of containers this host command owns")
    parser.add_argument("--metrics-file", metavar="PATH",
                        help="after each run, write Prometheus metrics to PATH (node_exporter's textfile format)")
    parser.add_argument("--check", action="store_true", help="plan only: change nothing, exit 2 when changes are pending")
    parser.add_argument("--diff", action="store_true", help="show the changed fields of each container")
    parser.add_argument("--json", action="store_true", help="print one JSON report on stdout")
    parser.add_argument("--version", action="version", version="dockerup %s" % VERSION)
    return parser


def settings(argv):
    """Defaults < config file < flags."""
    return settings_of(build_parser().parse_args(argv))


def settings_of(args):
    values = {key: default for key, (_kind, default) in CONFIG_KEYS.items()}
    values.update(read_config(args.config or DEFAULT_CONFIG, required=args.config is not None))
    for key in ("confdir", "remote", "aws", "pull", "server", "interval", "scope", "metrics_file"):
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    if values["interval"] < 1:
        raise ConfigError("--interval: must be at least 1")
    remote = values["remote"]
    if remote and remote.startswith("unix://") and not remote.startswith("unix:///"):
        values["remote"] = "unix:///" + remote[len("unix://"):]  # the original's documented "unix://var/run/docker.sock"
    if args.lock_wait < 0:
        raise ConfigError("--lock-wait: must not be negative")
    values.update(cache=args.cache, lock_wait=args.lock_wait, check=args.check, diff=args.diff, json=args.json)
    return values


class Interrupt:
    """SIGTERM/SIGINT ask the run to stop after its current step (never between stop and start);
    while the run only reads, validates and plans (``at_once``), they end it at once."""

    def __init__(self):
        self.event = threading.Event()
        self.immediate = False

    def install(self):
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._handle)

    def _handle(self, number, _frame):
        self.event.set()
        if self.immediate:
            self.immediate = False
            raise Interrupted("stopped by signal %d before anything was changed" % number)

    def __call__(self):
        return self.event.is_set()

    @contextmanager
    def at_once(self):
        """Within, a stop raises Interrupted where the run is: nothing is being changed."""
        if self.event.is_set():
            raise Interrupted("stopped before anything was changed")
        self.immediate = True
        try:
            yield
        finally:
            self.immediate = False


def _line(stream, text):
    stream.write(text + "\n")
    stream.flush()


def print_report(result, values, stream):
    for action in result["actions"]:
        where = action.get("image") or action["container"]
        text = "%-8s %s: %s" % (action["action"], where, "; ".join(action["reasons"]))
        if action.get("error"):
            text += " -- FAILED: " + action["error"]
        _line(stream, text)
    if values["diff"]:
        for entry in result.get("diff", []):
            _line(stream, "--- %s\n+++ %s" % (entry["before_header"], entry["after_header"]))
            for key in sorted(set(entry["before"]) | set(entry["after"])):
                if key in entry["before"]:
                    _line(stream, "-  %s: %s" % (key, json.dumps(entry["before"][key], sort_keys=True)))
                if key in entry["after"]:
                    _line(stream, "+  %s: %s" % (key, json.dumps(entry["after"][key], sort_keys=True)))
    for warning in result["warnings"]:
        _line(stream, "warning: " + warning)
    for name, reason in result["errors"].items():
        _line(stream, "error: %s: %s" % (name, reason))
    done = [a for a in result["actions"] if not a.get("error")]
    verb = "would change" if values["check"] else "changed"
    _line(stream, "dockerup: %d container(s) listed, %d action(s) %s, %d error(s)%s" % (
        len(result["listed"]), len(done), verb, len(result["errors"]),
        " (interrupted)" if result.get("interrupted") else ""))


def run_once(values, interrupted, progress):
    auth = None
    if values["username"]:
        auth = {"username": values["username"], "password": values["password"] or ""}
        if values["email"]:
            auth["email"] = values["email"]
    return engine.converge(
        confdir=values["confdir"],
        user_data=values["aws"],
        user_data_endpoint=values["user_data_endpoint"],
        cache=values["cache"],
        docker_host=values["remote"],
        scope=values["scope"],
        pull=values["pull"],
        cleanup=values["cleanup"],
        check_mode=values["check"],
        diff=values["diff"] or values["json"],
        hub_auth=auth,
        registry_config=values["registry_config"],
        lock_wait=values["lock_wait"],
        stop_requested=interrupted,
        interruptible=interrupted.at_once,
        progress=progress,
    )


def exit_code(result, values):
    return status.exit_code(result, values["check"])


def _internal_error(exc):
    """A failure the engine did not foresee (a bug): one line, the traceback only when asked for."""
    if os.environ.get("DOCKERUP_DEBUG"):
        traceback.print_exc()
        return "internal error: %s: %s" % (type(exc).__name__, exc)
    return "internal error: %s (set DOCKERUP_DEBUG=1 for the traceback)" % type(exc).__name__


def failure_report(message):
    return report.build_report([], [], {}, [], {"dockerup": message})


# Flags of the run that take a value: the word after one of them is that value, not the ``status`` command.
VALUE_FLAGS = ("--config", "--cache", "--confdir", "--remote", "--interval", "--lock-wait", "--scope", "--metrics-file",
               "--max-age")


def split_command(argv):
    """``(command, rest)``: ``status`` where a positional argument may stand (the role's wrapper puts
    ``--cache DIR`` before the user's arguments), else None and the arguments of a run."""
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg == "--":
            break
        elif arg in VALUE_FLAGS:
            skip = True
        elif arg == "status":
            return "status", argv[:index] + argv[index + 1:]
    return None, list(argv)


def record_run(cache, metrics_file, result, started, code, error, interval, stderr):
    """The status document of a run that ended, written to the cache dir, and the metrics file if asked.
    A file that cannot be written is a warning: the run's own exit code stands."""
    document = status.build(result, started, time.time(), code, error, interval=interval, previous=status.read_previous(cache))
    try:
        status.write(cache, document)
    except OSError as exc:
        _line(stderr, "dockerup: warning: could not write the status file %s: %s" % (status.path_in(cache), exc.strerror or exc))
    if metrics_file:
        try:
            metrics.write(metrics_file, document)
        except OSError as exc:
            _line(stderr, "dockerup: warning: could not write the metrics file %s: %s" % (metrics_file, exc.strerror or exc))
    return document


def main(argv=None, stdout=None, stderr=None):
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    command, argv = split_command(list(argv if argv is not None else sys.argv[1:]))
    if command == "status":
        return status_main(argv, stdout)
    args = build_parser().parse_args(argv)
    started = time.time()
    try:
        values = settings_of(args)
    except ConfigError as exc:
        _line(stderr, "dockerup: %s" % exc)
        if not args.check:
            record_run(args.cache, args.metrics_file, None, started, EXIT_ERROR, str(exc), None, stderr)
        return EXIT_ERROR
    interrupted = Interrupt()
    interrupted.install()
    out = stderr if values["json"] else stdout

    def progress(text):
        _line(out, "... " + text)

    while True:
        started = time.time()
        error = None
        try:
            result = run_once(values, interrupted, progress)
        except Exception as exc:  # pylint: disable=broad-except  # one clean line, never a traceback
            message = str(exc) if isinstance(exc, DockerupError) else _internal_error(exc)
            if values["json"]:
                _line(stdout, json.dumps(failure_report(message), sort_keys=True))
            else:
                _line(stderr, "dockerup: %s" % message)
            if isinstance(exc, Interrupted):
                code, result = EXIT_INTERRUPTED, {"warnings": [message]}
            else:
                code, result, error = EXIT_ERROR, None, message
        else:
            if values["json"]:
                _line(stdout, json.dumps(result, sort_keys=True))
            else:
                print_report(result, values, stdout)
            code = exit_code(result, values)
        if not values["check"]:  # check mode writes nothing
            record_run(values["cache"], values["metrics_file"], result, started, code, error, values["interval"], stderr)
        if not values["server"] or interrupted():
            return code
        if interrupted.event.wait(values["interval"]):
            return code


class _StatusParser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(status.UNKNOWN, "%s: error: %s\n" % (self.prog, message))  # a usage error is UNKNOWN, not CRITICAL


def build_status_parser():
    parser = _StatusParser(
        prog="dockerup status",
        description="How this host is doing: the last run's outcome and age, what is failing, pending image updates "
                    "(from status.json in the cache dir, written after every run but --check).",
        epilog="Exit codes (Nagios plugin conventions): 0 OK, the last run converged and is younger than the max age; "
               "1 WARNING, it was interrupted; 2 CRITICAL, it failed, or it is older than the max age (stale); "
               "3 UNKNOWN, no run has written a status yet, or it cannot be read.",
    )
    parser.add_argument("--cache", default=engine.DEFAULT_CACHE, help="cache dir of the runs (default %(default)s)")
    parser.add_argument("--config", help="config file, for its interval when the status does not record one "
                                         "(default %s)" % DEFAULT_CONFIG)
    parser.add_argument("--max-age", type=float, metavar="SECONDS",
                        help="a last run that ended longer ago is stale (default: %d intervals)" % status.STALE_INTERVALS)
    parser.add_argument("--json", action="store_true", help="print one JSON document: the check's state and the status")
    return parser


def status_main(argv, stdout):
    parser = build_status_parser()
    args = parser.parse_args(argv)
    if args.max_age is not None and args.max_age <= 0:
        parser.error("--max-age: must be more than 0")
    try:
        document = status.read(args.cache)
    except ValueError as exc:
        document = exc
    max_age = args.max_age
    if max_age is None:
        interval = document.get("interval_seconds") if isinstance(document, dict) else None
        if not interval:
            try:
                interval = read_config(args.config or DEFAULT_CONFIG, required=False).get("interval")
            except ConfigError:
                interval = None
        max_age = status.STALE_INTERVALS * (interval or CONFIG_KEYS["interval"][1])
    now = time.time()
    code, lines = status.check(document, now, max_age, status.path_in(args.cache))
    if args.json:
        found = document if isinstance(document, dict) else None
        _line(stdout, json.dumps({
            "state": status.STATE_NAMES[code],
            "exit_code": code,
            "summary": lines[0],
            "max_age_seconds": max_age,
            "age_seconds": round(max(now - found["finished"], 0.0), 3) if found else None,
            "status": found,
        }, sort_keys=True))
    else:
        for text in lines:
            _line(stdout, text)
    return code
