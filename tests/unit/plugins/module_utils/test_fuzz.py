# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property-based fuzzing of the definition path: sources -> schema -> normalisation -> Docker create
arguments (issue 9, point 4).

Properties:
- nothing raises but ``DefinitionError`` (a clean, listed validation error), whatever the input;
- accepted input normalises idempotently (the canonical definition, written back in the format, gives
  itself again) and validating twice (also ``trusted``) gives equal definitions;
- the config hash, the labels and the create arguments are the same whatever the dict key order;
- an env value never appears in an error text, nor in a label (env values are secrets).

Most cases call ``schema.validate`` on raw entries made by a fast seeded generator (``Gen``: Hypothesis
draws the seed); a few go through structured Hypothesis strategies (slow to draw, but their failures
shrink to a minimal definition, and the fixed examples of the bugs found live there); a share goes
through real files (.json and .yaml, some cut short or with a stray byte) in a confdir read by
``sources.read_sources``.

Case counts come from the Hypothesis profile (tests/unit/conftest.py). ``ci``, the default, runs
3 x 3000 generated + 50 structured + 750 JSON-file + 300 YAML-file cases = 10,100 (plus the fixed
examples), as ``pytest --hypothesis-show-statistics`` reports. Measured on the 2-core development
machine while other work loaded it (load average 8-10): 39 s wall clock, 18 s of CPU.
``HYPOTHESIS_PROFILE=dev`` runs 200 per property.
"""

from __future__ import annotations

# The generator passes lambdas that make a random choice each time they are called.
# pylint: disable=unnecessary-lambda

import datetime
import hashlib
import json
import os
import random
import re
import tempfile

import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import event, example, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ansible_collections.dockerup.bootstrap.plugins.module_utils import dockerspec, schema, sources  # noqa: E402
from ansible_collections.dockerup.bootstrap.plugins.module_utils.errors import DefinitionError  # noqa: E402

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None


class FakeApi:
    """What ``create_args`` needs of docker-py's ``APIClient``: ``create_host_config``."""

    def create_host_config(self, **kwargs):
        return kwargs


def _api():
    """docker-py's own ``create_host_config`` (it checks its arguments) when docker-py is installed:
    with an explicit API version the client never connects to an engine."""
    try:
        import docker  # pylint: disable=import-outside-toplevel
        return docker.APIClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    except ImportError:  # pragma: no cover
        return FakeApi()


API = _api()
SCOPE = "default"
N = settings.default.max_examples
STRUCTURED_CASES = max(10, N // 60)
FILE_CASES = max(10, N // 4)
YAML_CASES = max(5, N // 10)

# ---------------------------------------------------------------------------------------------------
# Strategies

FIELDS = sorted(schema.SCHEMA["properties"])
NESTED_FIELDS = ["containerPath", "hostPath", "mode", "from", "owner", "permissions", "containerPort", "hostPort",
                 "protocol", "hostIp", "pull", "eager", "switch", "rolling", "minReadySeconds", "drainSeconds", "test", "interval", "timeout",
                 "retries", "startPeriod", "condition", "context", "dockerfile", "args", "user", "command", "name"]


def _near_misses(name):
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name)
    return {name.upper(), name.lower(), name.capitalize(), snake, name[:-1], name + "s", name + " ", " " + name,
            name[1:], name.replace("o", "0"), name + "\u200b", name.replace("e", "\u0435")} - {name}


NEAR_MISSES = sorted(set().union(*(_near_misses(f) for f in FIELDS + NESTED_FIELDS)))
NAME_POOL = ["web", "db", "cache", "a1", "worker.2", "x_y-z"]

small_text = st.text(max_size=12)
wild_text = st.one_of(
    small_text,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["", " ", "\n", "web\n", "\x00", "é", "\U0001f600", "'", '"', "\\", "$(x)", "a b", "=", "-1",
                     "0", "1e309", "NaN", "Infinity", "true", "null", "container:", "container:web", "io.dockerup.x"]),
)
huge_int = st.one_of(st.integers(-3, 70000), st.integers(-(2 ** 80), 2 ** 80), st.sampled_from([2 ** 63 - 1, 2 ** 63, 2 ** 64]))
any_float = st.floats(allow_nan=True, allow_infinity=True)
scalar = st.one_of(st.none(), st.booleans(), huge_int, any_float, wild_text)
junk = st.recursive(scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(wild_text, c, max_size=3), max_leaves=8)
# What YAML adds to JSON: keys that are not strings, dates, bytes, sets.
yaml_scalar = st.one_of(scalar, st.dates(), st.binary(max_size=4))
yaml_key = st.one_of(wild_text, st.integers(-3, 3), st.booleans(), st.none(), st.dates())
yaml_junk = st.recursive(
    yaml_scalar, lambda c: st.lists(c, max_size=3) | st.dictionaries(yaml_key, c, max_size=3), max_leaves=6)


def mostly(right, wrong=junk, p=0.8):
    """The right kind of value most of the time (``p``), junk otherwise."""
    return st.integers(0, 9).flatmap(lambda i: right if i < p * 10 else wrong)


name_s = st.one_of(st.sampled_from(NAME_POOL), st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]{1,12}", fullmatch=True),
                   st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,5}\n?", fullmatch=True), wild_text)
image_s = st.one_of(st.sampled_from(["nginx", "nginx:1.25", "127.0.0.1:5000/app/web:2", "busybox@sha256:" + "a" * 64]),
                    st.from_regex(r"[^\s]{1,20}\n?", fullmatch=True), wild_text)
digits = st.from_regex(r"[0-9]{1,25}\n?", fullmatch=True)
port_s = st.one_of(st.integers(-2, 70000), st.from_regex(r"[0-9]{1,6}\n?", fullmatch=True), st.floats(0, 70000),
                   st.sampled_from([80, "80", "080", "0", 0, 65535, 65536, "65536", 80.0, "8O", " 80"]))
cpu_s = st.one_of(huge_int, digits, any_float)
memory_s = st.one_of(huge_int, st.from_regex(r"[0-9]{1,25}[bkmgBKMGt]?\n?", fullmatch=True), any_float,
                     st.sampled_from(["512m", "1g", "2048M", "1.5g", "-1", ""]))
shellish = st.one_of(st.text(alphabet="ab '\"\\$ ;|\n", max_size=12), wild_text)
argv_s = st.one_of(shellish, st.lists(wild_text, max_size=4))
duration_s = st.one_of(
    st.integers(-5, 10 ** 6), huge_int, any_float, st.floats(0, 1e300),
    st.from_regex(r"([0-9]{1,4}(\.[0-9]{1,2})?(h|m|s|ms)){1,3}\n?", fullmatch=True),
    st.sampled_from(["1m30s", "500ms", "2h", "1.5s", "9" * 400 + "h", "1e3s", "-1s", "", "1d"]),
)
path_s = st.one_of(st.sampled_from(["/data", "/data/", "/", "/var/log", "//x", "relative", ""]),
                   st.from_regex(r"/[a-z/]{0,8}", fullmatch=True), wild_text)
mode_s = st.sampled_from(["ro", "rw", "RO", "RW", "Ro", "rx", ""])
bool_s = mostly(st.booleans(), st.one_of(st.sampled_from(["true", 1, 0, None]), junk))
secret_s = st.one_of(st.from_regex(r"s3cr[a-zA-Z0-9]{2,20}", fullmatch=True), st.text(min_size=4, max_size=20), wild_text)
env_value_s = st.one_of(secret_s, secret_s, st.booleans(), huge_int, any_float, st.none(), st.lists(secret_s, max_size=2),
                        st.dictionaries(small_text, secret_s, max_size=2))
env_key_s = st.one_of(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True), wild_text, st.sampled_from(["", "A=B", "=", "PATH"]))


def maybe_keys(required, optional, extra_p=True):
    """A dict of some of ``optional`` (and all of ``required``, mostly), sometimes with a stray key."""
    @st.composite
    def build(draw):
        result = {}
        for key, value_s in required.items():
            if draw(st.integers(0, 9)) > 0:
                result[key] = draw(value_s)
        for key, value_s in optional.items():
            if draw(st.booleans()):
                result[key] = draw(value_s)
        if extra_p and draw(st.integers(0, 9)) == 0:
            result[draw(st.sampled_from(NEAR_MISSES + NESTED_FIELDS))] = draw(junk)
        return result
    return build()


volume_s = st.one_of(
    maybe_keys({"containerPath": path_s}, {"hostPath": path_s, "mode": mode_s}),
    maybe_keys({"from": name_s}, {}),
    maybe_keys({"name": name_s, "containerPath": path_s},
               {"mode": mode_s, "owner": st.sampled_from(["1000", "1000:1000", "app:app", "a b", ""]),
                "permissions": st.sampled_from(["0755", "755", "u+rwx,g-w", "0999", "x", ""])}),
    junk,
)
port_mapping_s = mostly(maybe_keys({"containerPort": port_s},
                                   {"hostPort": port_s, "protocol": st.sampled_from(["tcp", "udp", "TCP", "sctp"]),
                                    "hostIp": st.sampled_from(["", "127.0.0.1", "::1", "0.0.0.0"])}))
depends_s = st.one_of(name_s, maybe_keys({"name": name_s}, {"condition": st.sampled_from(["started", "healthy", "ready"])}), junk)
healthcheck_s = maybe_keys({"test": mostly(st.one_of(shellish, st.lists(st.sampled_from(["CMD", "CMD-SHELL", "NONE", "true", "x"]), max_size=3)))},
                           {"interval": duration_s, "timeout": duration_s, "startPeriod": duration_s,
                            "retries": st.one_of(st.integers(-2, 10), huge_int, any_float)})
string_map_s = st.dictionaries(st.one_of(small_text, st.sampled_from(["io.dockerup.managed", "com.example.x"])),
                               mostly(small_text, junk, 0.9), max_size=3)

FIELD_VALUES = {
    "type": st.sampled_from(["docker", "docker", "Docker", "rkt", ""]),
    "name": name_s,
    "image": image_s,
    "cpu": cpu_s,
    "memory": memory_s,
    "entrypoint": argv_s,
    "command": argv_s,
    "privileged": bool_s,
    "network": st.one_of(st.sampled_from(["bridge", "host", "none", "container:web", "container:db", "container:", "mynet"]), wild_text),
    "volumes": st.lists(volume_s, max_size=4),
    "dependsOn": st.lists(depends_s, max_size=3),
    "exec": st.lists(maybe_keys({"command": argv_s}, {"user": st.sampled_from(["root", "", "1000"])}), max_size=2),
    "build": maybe_keys({"context": path_s}, {"dockerfile": small_text,
                                              "args": st.dictionaries(small_text, st.one_of(scalar, junk), max_size=3)}),
    "portMappings": st.lists(port_mapping_s, max_size=4),
    "env": st.dictionaries(env_key_s, env_value_s, max_size=5),
    "restart": st.sampled_from(["always", "on-failure", "never", "unless-stopped", "no", "Always", ""]),
    "update": maybe_keys({}, {"pull": bool_s, "eager": bool_s, "rolling": bool_s, "minReadySeconds": duration_s,
                              "drainSeconds": duration_s, "switch": st.sampled_from(["overlap", "rename", "Rename", ""])}),
    "aliases": st.lists(mostly(name_s), max_size=3),
    "healthcheck": healthcheck_s,
    "links": string_map_s,
    "labels": string_map_s,
    "user": mostly(small_text),
    "workingDir": mostly(path_s),
    "hostname": mostly(small_text),
    "init": bool_s,
    "stopSignal": mostly(st.sampled_from(["SIGTERM", "SIGKILL", "15", ""])),
    "stopTimeout": st.one_of(st.integers(-2, 600), huge_int, any_float),
}


@st.composite
def definition(draw, junk_p=2):
    """A raw definition: name and image nearly always, a random subset of the other fields, each with a
    value of the right kind most of the time; sometimes a near-miss key or junk of any type."""
    raw = {}
    for key in ("name", "image"):
        if draw(st.integers(0, 19)) > 0:
            raw[key] = draw(FIELD_VALUES[key])
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=8, unique=True)):
        raw[key] = draw(junk) if draw(st.integers(0, 9)) < junk_p else draw(FIELD_VALUES[key])
    if draw(st.integers(0, 9)) == 0:
        raw[draw(st.sampled_from(NEAR_MISSES))] = draw(junk)
    return raw


mostly_valid = definition(junk_p=0)
any_definition = st.one_of(definition(), definition(), definition(), junk)
yaml_definition = st.fixed_dictionaries(
    {"name": name_s, "image": image_s},
    optional={"env": st.dictionaries(yaml_key, yaml_scalar, max_size=3), "labels": st.dictionaries(yaml_key, yaml_scalar, max_size=2),
              "links": st.dictionaries(yaml_key, yaml_scalar, max_size=2), "cpu": yaml_scalar, "memory": yaml_scalar,
              "volumes": st.lists(yaml_junk, max_size=2), datetime.date(2020, 1, 1): yaml_scalar})


def entries_of(raws, origin="inline"):
    return [(raw, "%s[%d]" % (origin, index), origin) for index, raw in enumerate(raws)]


def shuffled(value, rnd):
    """The same JSON value with every object's keys in another order."""
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: shuffled(value[k], rnd) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


# ---------------------------------------------------------------------------------------------------
# A fast generator for the bulk of the cases. Hypothesis spends about 0.1-0.3 ms per drawn value
# here, so a structured definition costs 5-10 ms to draw; the same shapes drawn from a seeded
# ``random.Random`` cost a few microseconds. Hypothesis draws (and on failure shrinks) the seed; the
# generated input is shown with the falsifying example (``note``).

SPECIAL_TEXT = ["", " ", "\n", "web\n", "\x00", "\u00e9", "\U0001f600", "'", '"', "\\", "$(x)", "a b", "=", "-1", "0",
                "1e309", "NaN", "Infinity", "true", "null", "container:", "container:web", "io.dockerup.x", "\u200b",
                "\ufeff", "a" * 300]
SPECIAL_NUMBERS = [0, 1, -1, 2, 80, 65535, 65536, 2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64, -(2 ** 63), 10 ** 30, 0.5, -0.0,
                   5.0, 1e300, -1e300, 1e-300, float("inf"), float("-inf"), float("nan")]
# Each list: the valid values first (VALID says how many), then near misses.
SAMPLES = {
    "type": ["docker", "Docker", "rkt", ""],
    "network": ["bridge", "mynet", "bridge", "host", "none", "container:db", "container:"],
    "restart": ["always", "on-failure", "never", "unless-stopped", "no", "Always", ""],
    "image": ["nginx", "nginx:1.25", "127.0.0.1:5000/app/web:2", "busybox@sha256:" + "a" * 64],
    "memory": ["512m", "1g", "2048M", "0", "9" * 30 + "g", "1.5g", "-1", "", "1t"],
    "duration": ["1m30s", "500ms", "2h", "1.5s", "0s", "9" * 400 + "h", "1e3s", "-1s", "", "1d", "10"],
    "path": ["/data", "/data/", "/", "/var/log", "//x", "/a b", "/\u00e9", "relative", ""],
    "mode": ["ro", "rw", "RO", "RW", "Ro", "rx", ""],
    "protocol": ["tcp", "udp", "TCP", "UDP", "sctp", ""],
    "hostIp": ["", "127.0.0.1", "::1", "0.0.0.0"],
    "owner": ["1000", "1000:1000", "app:app", "a b", ""],
    "permissions": ["0755", "755", "u+rwx,g-w", "0999", "x", ""],
    "condition": ["started", "healthy", "ready"],
    "test": ["CMD", "CMD-SHELL", "NONE", "true", "x"],
    "signal": ["SIGTERM", "SIGKILL", "15", ""],
    "label": ["com.example.x", "a", "io.dockerup.managed", ""],
    "user": ["root", "1000", "app:app", ""],
    "switch": ["overlap", "rename", "Rename", "swap", ""],
}
VALID = {"type": 1, "network": 6, "restart": 4, "image": 4, "memory": 5, "duration": 6, "path": 7, "mode": 4, "protocol": 4,
         "hostIp": 4, "owner": 3, "permissions": 3, "condition": 2, "test": 5, "signal": 3, "label": 2, "user": 3, "switch": 2}
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
SHELL_CHARS = "ab '\"\\$ ;|\n"


class Gen:
    """Raw definitions and documents from one seed: mostly the right fields with the right types,
    and wrong types, near-miss keys, unicode, huge and negative numbers, junk at any depth."""

    def __init__(self, seed, junk_p=0.2, yaml_types=False, valid=False):
        self.r = random.Random(seed)
        self.junk_p = 0 if valid else junk_p
        self.yaml_types = yaml_types
        self.valid = valid  # values of the right kind and in range, nearly always: most definitions pass
        self.names = []

    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def text(self):
        kind = self.r.randrange(5)
        if kind == 0:
            return self.pick(SPECIAL_TEXT)
        if kind == 1:
            return "".join(chr(self.r.randrange(32, 127)) for _unused in range(self.r.randrange(13)))
        if kind == 2:  # any code point but surrogates
            return "".join(chr(self.pick([self.r.randrange(0x20, 0xd800), self.r.randrange(0xe000, 0x110000), self.r.randrange(32)]))
                           for _unused in range(self.r.randrange(8)))
        if kind == 3:
            return self.name()
        return self.pick(NAME_POOL)

    def name(self):
        text = self.pick(NAME_CHARS[:62]) + "".join(self.pick(NAME_CHARS) for _unused in range(self.r.randrange(1, 10)))
        return text + "\n" if self.chance(0.03) and not self.valid else text

    def digits(self, most=6):
        text = "".join(self.pick("0123456789") for _unused in range(self.r.randrange(1, most + 1)))
        return text + "\n" if self.chance(0.03) else text

    def number(self):
        if self.valid:
            return self.pick([self.r.randrange(0, 100), self.r.randrange(0, 2 ** 40), 2 ** 80, 5.0])
        kind = self.r.randrange(4)
        if kind == 0:
            return self.pick(SPECIAL_NUMBERS)
        if kind == 1:
            return self.r.randrange(-3, 70000)
        if kind == 2:
            return self.r.randrange(-(2 ** 80), 2 ** 80)
        return self.r.uniform(-1e6, 1e6)

    def scalar(self):
        kind = self.r.randrange(5)
        return [None, self.chance(0.5), self.number(), self.text(), self.text()][kind]

    def key(self):
        if self.yaml_types and self.chance(0.1):
            return self.pick([0, 1, -1, True, False, None, datetime.date(2020, 1, 1), 1.5])
        return self.text() if self.chance(0.7) else self.pick(NEAR_MISSES + NESTED_FIELDS + FIELDS)

    def junk(self, depth=2):
        if depth <= 0 or self.chance(0.5):
            if self.yaml_types and self.chance(0.1):
                return self.pick([datetime.date(2020, 1, 1), b"\x00bin", datetime.datetime(2020, 1, 1, 12, 0)])
            return self.scalar()
        if self.chance(0.5):
            return [self.junk(depth - 1) for _unused in range(self.r.randrange(4))]
        return {self.key(): self.junk(depth - 1) for _unused in range(self.r.randrange(4))}

    def mostly(self, right, p=0.8):
        return right() if self.valid or self.chance(p) else self.junk()

    def obj(self, required, optional):
        """Some of ``optional`` and (mostly) all of ``required``; sometimes a stray key."""
        result = {}
        for key, value in required.items():
            if self.chance(0.9):
                result[key] = value()
        for key, value in optional.items():
            if self.chance(0.5):
                result[key] = value()
        if self.chance(0.1) and not self.valid:
            result[self.pick(NEAR_MISSES + NESTED_FIELDS)] = self.junk()
        return result

    def many(self, item, most=4):
        return [item() for _unused in range(self.r.randrange(most + 1))]

    def port(self):
        if self.valid:
            port = self.r.randrange(1, 65536)
            return self.pick([port, str(port), "%05d" % port, float(port)])
        return self.pick([lambda: self.r.randrange(-2, 70000), self.digits, lambda: float(self.r.randrange(70000)),
                          lambda: self.pick([80, "80", "080", "0", 0, 65535, 65536, "65536", 80.0, "8O", " 80"])])()

    def memory(self):
        if self.valid:
            return self.pick([lambda: self.r.randrange(0, 2 ** 40), lambda: "%d%s" % (self.r.randrange(10 ** 6), self.pick("bkmgBKMG ")[:1].strip()),
                              self.sample("memory")])()
        return self.pick([self.number, lambda: self.digits(25) + self.pick(["", "b", "k", "m", "g", "M", "G", "t"]),
                          lambda: self.pick(SAMPLES["memory"])])()

    def argv(self):
        if self.chance(0.5):
            return self.many(self.text)
        return "".join(self.pick(SHELL_CHARS) for _unused in range(self.r.randrange(12))) if self.chance(0.5) else self.text()

    def duration(self):
        kind = self.r.randrange(1, 4) if self.valid else self.r.randrange(4)
        if kind == 0:
            return self.number()
        if kind == 1:
            return self.r.uniform(0, 1e6)
        if kind == 2:
            return self.pick(SAMPLES["duration"])
        return "".join("%d%s" % (self.r.randrange(10000), self.pick(["h", "m", "s", "ms"])) for _unused in range(self.r.randrange(1, 4)))

    def path(self):
        if self.valid:
            return self.pick([lambda: self.sample("path")(), lambda: "/" + self.name()])()
        return self.pick([lambda: self.pick(SAMPLES["path"]), lambda: "/" + self.name().strip("\n"), self.text])()

    def boolean(self):
        return self.chance(0.5) if self.valid or self.chance(0.8) else self.pick(["true", 1, 0, None, []])

    def update(self):
        update = self.obj({}, {"pull": self.boolean, "eager": self.boolean, "rolling": self.boolean,
                               "minReadySeconds": self.duration, "drainSeconds": self.duration, "switch": self.sample("switch")})
        if self.valid and update.get("eager") is not True:
            update.pop("switch", None)  # a switch needs eager
        return update

    def sample(self, name):
        return lambda: self.pick(SAMPLES[name][:VALID[name]] if self.valid else SAMPLES[name])

    def dependency(self):
        """A name defined before in this case (valid mode) or one of a few names (which may be undefined)."""
        if self.valid:
            return self.pick(self.names) if self.names else None
        return self.pick(NAME_POOL)

    def string_map(self):
        return {self.pick([self.text, self.sample("label")])(): self.mostly(self.text, 0.9) for _unused in range(self.r.randrange(4))}

    def links(self):
        if self.valid:
            return {name: self.name() for name in self.names if self.chance(0.5)}
        return self.string_map()

    def secret(self):
        return self.pick([lambda: "s3cr" + "".join(self.pick(NAME_CHARS[:62]) for _unused in range(self.r.randrange(2, 20))), self.text])()

    def env(self):
        def value():
            return self.pick([self.secret, self.secret, self.secret, lambda: self.chance(0.5), self.number, lambda: None,
                              lambda: [self.secret()], lambda: {"k": self.secret()}][:5 if self.valid else 8])()

        def key():
            return self.pick([lambda: self.name().upper().replace(".", "_").replace("-", "_"), self.text,
                              lambda: self.pick(["", "A=B", "=", "PATH"])][:1 if self.valid else 3])()
        return {key(): value() for _unused in range(self.r.randrange(6))}

    def field(self, key):
        return {
            "type": self.sample("type"),
            "name": lambda: self.name() if self.valid or self.chance(0.8) else self.text(),
            "image": lambda: self.pick([self.sample("image"), self.name, self.text][:2 if self.valid else 3])(),
            "cpu": lambda: self.pick([self.number, self.digits])(),
            "memory": self.memory,
            "entrypoint": self.argv,
            "command": self.argv,
            "privileged": self.boolean,
            "network": lambda: self.pick([self.sample("network"), self.text])(),
            "volumes": lambda: self.many(lambda: self.pick([
                lambda: self.obj({"containerPath": self.path}, {"hostPath": self.path, "mode": self.sample("mode")}),
                lambda: self.obj({"from": lambda: self.pick([self.name, self.text])()}, {}),
                lambda: self.obj({"name": self.name, "containerPath": self.path},
                                 {"mode": self.sample("mode"), "owner": self.sample("owner"), "permissions": self.sample("permissions")}),
                self.junk][:3 if self.valid else 4])()),
            "dependsOn": lambda: [d for d in self.many(lambda: self.pick([
                self.dependency, lambda: self.name() if not self.valid else self.dependency(),
                lambda: self.obj({"name": self.dependency}, {"condition": self.sample("condition")}), self.junk][:3 if self.valid else 4])(), 3)
                if d is not None and (not isinstance(d, dict) or d.get("name", "") is not None)],
            "exec": lambda: self.many(lambda: self.obj({"command": self.argv}, {"user": self.sample("user")}), 2),
            "build": lambda: self.obj({"context": self.path}, {"dockerfile": self.name,
                                                               "args": lambda: {self.text(): self.mostly(self.text) if self.valid else self.scalar()
                                                                                for _unused in range(self.r.randrange(3))}}),
            "portMappings": lambda: self.many(lambda: self.mostly(lambda: self.obj(
                {"containerPort": self.port}, {"hostPort": self.port, "protocol": self.sample("protocol"), "hostIp": self.sample("hostIp")}))),
            "env": self.env,
            "restart": self.sample("restart"),
            "update": self.update,
            "aliases": lambda: self.many(lambda: self.mostly(self.name if self.valid else self.text), 3),
            "healthcheck": lambda: self.obj(
                {"test": lambda: self.mostly(lambda: self.argv() if self.chance(0.5) else [self.pick(SAMPLES["test"])] + self.many(self.sample("test"), 3))},
                {"interval": self.duration, "timeout": self.duration, "startPeriod": self.duration, "retries": self.number}),
            "links": self.links,
            "labels": self.string_map,
            "user": lambda: self.mostly(self.sample("user") if self.valid else self.text),
            "workingDir": lambda: self.mostly(self.path),
            "hostname": lambda: self.mostly(self.name if self.valid else self.text),
            "init": self.boolean,
            "stopSignal": lambda: self.mostly(self.sample("signal")),
            "stopTimeout": self.number,
        }[key]()

    def definition(self):
        raw = {}
        for key in ("name", "image"):
            if self.valid or self.chance(0.95):
                raw[key] = self.field(key)
        for key in self.r.sample(FIELDS, self.r.randrange(9)):
            raw[key] = self.junk() if self.chance(self.junk_p) else self.field(key)
        if self.chance(0.1) and not self.valid:
            raw[self.pick(NEAR_MISSES)] = self.junk()
        if isinstance(raw.get("name"), str):
            self.names.append(raw["name"])
        return raw

    def count(self, most=4):
        """1 mostly: a second definition matters for duplicates and dependencies only."""
        return 1 if self.chance(0.7) else self.r.randrange(2, most + 1)

    def definitions(self, most=4):
        return [self.definition() if self.chance(0.9) else self.junk() for _unused in range(self.count(most))]

    def document(self):
        kind = self.r.randrange(10)
        if kind < 5:
            return self.definition()
        if kind < 8:
            return {"containers": self.definitions(3)}
        if kind < 9:
            return {"containers": self.junk()}
        return self.junk()


seeds = st.integers(0, 2 ** 64 - 1)


# ---------------------------------------------------------------------------------------------------
# Checks shared by the properties

def run(entries, problems=()):
    """validate + create_args: the definitions and the create arguments, or the DefinitionError."""
    try:
        definitions = schema.validate(entries, problems)
    except DefinitionError as exc:
        assert exc.problems, "a DefinitionError lists its problems"
        return None, exc
    args = [dockerspec.create_args(API, d, SCOPE) for d in definitions]
    for definition_, arg in zip(definitions, args):
        check_definition_output(definition_, arg)
    return (definitions, args), None


INT64 = 2 ** 63 - 1


def check_definition_output(definition_, args):
    """What Docker takes: a valid name, ports in range, integers where the Engine API wants integers."""
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", definition_["name"])
    assert not re.search(r"\s", definition_["image"])
    for port in definition_["ports"]:
        assert 1 <= port["container_port"] <= 65535 and (port["host_port"] is None or 1 <= port["host_port"] <= 65535)
    for key in ("cpu", "memory"):
        assert type(definition_[key]) is int  # pylint: disable=unidiomatic-typecheck
    for key in ("stop_timeout",):
        assert definition_[key] is None or type(definition_[key]) is int  # pylint: disable=unidiomatic-typecheck
    for key, value in args.get("healthcheck", {}).items():
        if key != "test":
            assert type(value) is int and (key == "retries" or 0 <= value <= INT64)  # pylint: disable=unidiomatic-typecheck
    labels = args["labels"]
    # The hash is of the recorded definition, which is JSON: what observe.py compares reads back the same.
    assert labels[dockerspec.CONFIG_HASH] == hashlib.sha256(labels[dockerspec.DEFINITION].encode("utf-8")).hexdigest()
    assert labels[dockerspec.SCOPE] == SCOPE and labels[dockerspec.MANAGED] == "true"
    assert isinstance(json.loads(labels[dockerspec.DEFINITION]), dict)
    for key, value in definition_["labels"].items():
        assert labels[key] == value
    json.dumps(args, allow_nan=False)  # the Engine API takes JSON: no NaN/Infinity, nothing unserialisable
    for value in labels.values():
        assert isinstance(value, str)


def env_secrets(raws):
    """Every env value string of 4+ characters given in the raw definitions."""
    found = set()
    for raw in raws:
        if isinstance(raw, dict) and isinstance(raw.get("env"), dict):
            for value in raw["env"].values():
                for item in (value if isinstance(value, list) else value.values() if isinstance(value, dict) else [value]):
                    if isinstance(item, str) and len(item) >= 4:
                        found.add(item)
    return found


def shown_secrets(raws, text):
    """The env values that the text shows: a leak, unless they show for another reason (then they also
    show with every env value masked: ``assert_no_secret_leak``)."""
    return [secret for secret in env_secrets(raws) if secret in text]


def masked_env(raw, placeholder="\x01masked\x01"):
    """The same raw definition with every env value string replaced (its type kept)."""
    if not (isinstance(raw, dict) and isinstance(raw.get("env"), dict)):
        return raw

    def mask(value):
        if isinstance(value, str):
            return placeholder
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        return value
    return dict(raw, env={k: mask(v) for k, v in raw["env"].items()})


def masked_document(document):
    if isinstance(document, dict) and isinstance(document.get("containers"), list):
        return dict(document, containers=[masked_env(raw) for raw in document["containers"]])
    return masked_env(document)


def assert_no_secret_leak(raws, text, masked_text):
    """A secret that appears in the text of the real run but not in that of the run with env values
    replaced came from an env value: a leak."""
    for secret in env_secrets(raws):
        assert not (secret in text and secret not in masked_text), "env value %r leaked into: %s" % (secret, text)


def raw_from_definition(d):
    """A canonical definition written back in the format (the inverse of ``normalise``): the fields it
    was given (``given``, when the definition records them), with their canonical values."""
    raw = _raw_from_definition(d)
    if "given" in d:
        raw = {k: v for k, v in raw.items() if k in d["given"]}
        if "type" in d["given"]:
            raw["type"] = "docker"
    return raw


def _raw_from_definition(d):
    raw = {"name": d["name"], "image": d["image"], "cpu": d["cpu"], "memory": d["memory"], "privileged": d["privileged"],
           "network": d["network"], "restart": "never" if d["restart"] == "no" else d["restart"], "init": d["init"],
           "env": d["env"], "links": d["links"], "labels": d["labels"]}
    for key, field in (("entrypoint", "entrypoint"), ("command", "command"), ("user", "user"), ("working_dir", "workingDir"),
                       ("hostname", "hostname"), ("stop_signal", "stopSignal"), ("stop_timeout", "stopTimeout")):
        if d[key] is not None:
            raw[field] = d[key]
    volumes = [{"containerPath": b["container_path"], "hostPath": b["host_path"], "mode": b["mode"]} for b in d["binds"]]
    volumes += [{"containerPath": p} for p in d["anonymous_volumes"]]
    volumes += [{"from": n} for n in d["volumes_from"]]
    for n in d["named_volumes"]:
        volume = {"name": n["name"], "containerPath": n["container_path"], "mode": n["mode"]}
        volume.update({k: n[k] for k in ("owner", "permissions") if n[k] is not None})
        volumes.append(volume)
    raw["volumes"] = volumes
    raw["portMappings"] = [
        dict({"containerPort": p["container_port"], "protocol": p["protocol"], "hostIp": p["host_ip"]},
             **({} if p["host_port"] is None else {"hostPort": p["host_port"]}))
        for p in d["ports"]
    ]
    if d["healthcheck"] is not None:
        check = d["healthcheck"]
        raw["healthcheck"] = {"test": check["test"]}
        for key, field in (("interval", "interval"), ("timeout", "timeout"), ("retries", "retries"), ("start_period", "startPeriod")):
            if check[key] is not None:
                raw["healthcheck"][field] = check[key]
    raw["exec"] = [dict({"command": e["command"]}, **({} if e["user"] is None else {"user": e["user"]})) for e in d["exec"] or []]
    raw["dependsOn"] = [{"name": x["name"], "condition": x["condition"]} for x in d["depends_on"]]
    if d["build"] is not None:
        raw["build"] = {"context": d["build"]["context"], "dockerfile": d["build"]["dockerfile"], "args": d["build"]["args"]}
    raw["update"] = {"eager": d["eager"], "rolling": d["rolling"], "minReadySeconds": d["min_ready_seconds"],
                     "drainSeconds": d["drain_seconds"]}
    raw["aliases"] = d["aliases"]
    if d["eager"]:
        raw["update"]["switch"] = d["switch"]
    if d["pull"] is not None:
        raw["update"]["pull"] = d["pull"]
    return raw


def check_entries(entries, problems=(), rnd=None, rejected_order=False):
    """Every property on one set of raw entries; ``("accepted", None)`` or ``("rejected", the error)``.

    Validation is most of the time a case takes, so a check that needs another run of rejected input
    is done when it can find something: key order when ``rejected_order``, the masked run when an
    env value shows in the error text."""
    rnd = rnd or random.Random(0)
    raws = [raw for raw, _origin, _source in entries]
    result, error = run(entries, problems)
    # Key order does not matter: the same verdict, and for accepted input the same definitions,
    # hashes, labels and create arguments.
    reordered = [(shuffled(raw, rnd), origin, source) for raw, origin, source in entries]
    if error is not None:
        if rejected_order:
            _result, error2 = run(reordered, problems)
            # (messages may show a value's repr, in its own key order: compare the count)
            assert error2 is not None and len(error.problems) == len(error2.problems)
        # Env values are secrets: none shows in the error text (the run with every env value masked
        # fails alike, and a value that shows only in the unmasked run came from env).
        if shown_secrets(raws, str(error)):
            _result, masked_error = run(masked_entries(entries), problems)
            assert masked_error is not None
            assert_no_secret_leak(raws, str(error), str(masked_error))
        return "rejected", error
    definitions, args = result
    result2, error2 = run(reordered, problems)
    assert error2 is None and result2[0] == definitions
    assert json.dumps(result2[1]) == json.dumps(args)
    assert [d["source"] for d in definitions] == [source for _raw, _origin, source in entries]
    # The trusted path (input digest matched before) gives the same.
    assert schema.validate(entries, trusted=True) == definitions
    # Idempotent: the canonical form, written back in the format, normalises to itself.
    again = schema.validate([(raw_from_definition(d), origin, source) for d, (_raw, origin, source) in zip(definitions, entries)])
    assert again == definitions
    assert [schema.config_hash(d) for d in again] == [schema.config_hash(d) for d in definitions]
    # Labels hold no env value: apart from env digests, they are the same with every env value masked.
    if not any(d["env"] for d in definitions):
        return "accepted", None
    for d in definitions:
        shown = dict(d, env={k: "\x01masked\x01" for k in d["env"]})
        labels, labels_masked = dockerspec.labels_for(d, SCOPE), dockerspec.labels_for(shown, SCOPE)
        record, record_masked = json.loads(labels.pop(dockerspec.DEFINITION)), json.loads(labels_masked.pop(dockerspec.DEFINITION))
        labels.pop(dockerspec.CONFIG_HASH), labels_masked.pop(dockerspec.CONFIG_HASH)
        assert labels == labels_masked
        env, env_masked = record.pop("env", {}), record_masked.pop("env", {})
        assert record == record_masked and set(env) == set(env_masked)
        assert all(len(v) == 16 and v != d["env"][k] for k, v in env.items())
    return "accepted", None


def masked_entries(entries):
    """The entries with every env value string masked."""
    return [(masked_env(raw), origin, source) for raw, origin, source in entries]


# ---------------------------------------------------------------------------------------------------
# Properties on raw entries (the bulk of the cases)

@given(seeds)
def test_generated_definitions(seed):
    """Any input: only DefinitionError; the verdict, definitions and hashes do not depend on key order;
    accepted ones normalise idempotently; no env value in an error or a label."""
    gen = Gen(seed)
    raws = gen.definitions()
    note("raws = %r" % (raws,))
    event(check_entries(entries_of(raws), rnd=gen.r, rejected_order=gen.chance(0.1))[0])


@given(seeds)
def test_generated_valid_looking_definitions(seed):
    """The same, on input with the right types throughout (so that most of it is accepted)."""
    gen = Gen(seed, valid=True)
    raws = [gen.definition() for _unused in range(gen.count(3))]
    note("raws = %r" % (raws,))
    event(check_entries(entries_of(raws), rnd=gen.r, rejected_order=gen.chance(0.1))[0])


@given(seeds)
def test_generated_yaml_values(seed):
    """What a YAML file can hold besides JSON: keys that are not strings, dates, bytes."""
    gen = Gen(seed, yaml_types=True)
    raws = gen.definitions()
    note("raws = %r" % (raws,))
    event(check_entries(entries_of(raws), rnd=gen.r, rejected_order=gen.chance(0.1))[0])


# Structured strategies: fewer cases (drawing is slow), but Hypothesis shrinks their failures to a
# minimal definition; the fixed examples are the bugs this fuzzing found (fixed in schema.py).
@settings(max_examples=STRUCTURED_CASES)
@given(st.lists(st.one_of(any_definition, mostly_valid, yaml_definition), min_size=1, max_size=3), st.randoms(use_true_random=False))
@example([{"name": "web", "image": "nginx", "exec": [{"command": "echo 'open"}]}], random.Random(0))  # shlex in normalise
@example([{"name": "web", "image": "nginx", "memory": 5.0}], random.Random(0))  # TypeError in _memory
@example([{"name": "web", "image": "nginx", "healthcheck": {"test": "true", "interval": float("inf")}}], random.Random(0))
@example([{"name": "web", "image": "nginx", "healthcheck": {"test": "true", "interval": 1e300}}], random.Random(0))
@example([{"name": "web", "image": "nginx", "healthcheck": {"test": "true", "timeout": "9" * 400 + "h"}}], random.Random(0))
@example([{"name": "web", "image": "nginx", "update": {"minReadySeconds": float("nan")}}], random.Random(0))
@example([{"name": "web", "image": "nginx", 1: "x", "b": 2}], random.Random(0))  # YAML: a key that is not a string
@example([{"name": "web", "image": "nginx", "labels": {1: "x"}, "env": {2: "y", "A": "b"}, "links": {3: "z"}}], random.Random(0))
@example([{0: None}], random.Random(0))  # difflib on a key that is not a string
@example([{"name": "web", "image": "nginx", "env": {"X": float("nan")}, "cpu": float("-inf")}], random.Random(0))
@example([{"name": "web\n", "image": "nginx\n"}], random.Random(0))  # a pattern's "$" matches before a final line break
@example([{"name": "web", "image": "nginx", "portMappings": [{"containerPort": "99999", "hostPort": "0"}]}], random.Random(0))
@example([{"name": "web", "image": "nginx", "stopTimeout": 5.0, "memory": 5.0, "healthcheck": {"test": "x", "retries": 2.0}}],
         random.Random(0))  # JSON Schema's integers include 5.0; the Engine API's do not
@example([{"name": "web", "image": "nginx", "portMappings": [{"containerPort": "080", "hostPort": 8080}],
           "memory": "1g", "command": "a 'b c'", "restart": "never", "healthcheck": {"test": ["x"], "interval": "1m30s"}}],
         random.Random(0))
@example([{"name": "web", "image": "nginx", "env": {"PASSWORD": "hunter22", "": "s3cret-x", "A=B": ["s3cret-y"]}}], random.Random(0))
@example([{"name": "web", "image": "nginx", "env": {"PASSWORD": None, "TOKEN": "s3cret-z"}, "portMapping": []}], random.Random(0))
def test_structured_definitions(raws, rnd):
    event(check_entries(entries_of(raws), rnd=rnd, rejected_order=True)[0])


# ---------------------------------------------------------------------------------------------------
# Through real files: confdir -> read_sources -> validate -> create_args

def write_documents(confdir, documents, suffix):
    for name in os.listdir(confdir):
        os.unlink(os.path.join(confdir, name))
    for index, document in enumerate(documents):
        path = os.path.join(confdir, "%02d%s" % (index, suffix))
        with open(path, "w", encoding="utf-8") as handle:
            if suffix == ".json":
                json.dump(document, handle, ensure_ascii=bool(index % 2))
            else:
                yaml.safe_dump(document, handle, allow_unicode=bool(index % 2))


def marked_secrets(document):
    """The generated secrets (``s3cr...``) of a document's env values, wherever they are."""
    text = document if isinstance(document, str) else repr(document)  # (YAML's keys may be dates or None)
    return set(re.findall(r"s3cr[a-zA-Z0-9]{2,}", text))


def check_broken_file(document, suffix, rnd):
    """A file cut short or with a stray byte: a parse error, a validation error or nothing (a cut
    that leaves a valid document), and no env value in the error text."""
    with tempfile.TemporaryDirectory() as confdir:
        write_documents(confdir, [document], suffix)
        path = os.path.join(confdir, os.listdir(confdir)[0])
        with open(path, "rb") as handle:
            data = handle.read()
        cut = rnd.randrange(len(data) + 1)
        data = data[:cut] if rnd.random() < 0.7 else data[:cut] + rnd.choice([b"{", b"]", b"\"", b"\xff", b"\n-", b":"]) + data[cut:]
        with open(path, "wb") as handle:
            handle.write(data)
        found = sources.read_sources(confdir=confdir)
        _result, error = run(found.entries, found.problems)
        if error is not None:
            for secret in marked_secrets(document):
                assert secret not in str(error), "env value %r leaked into: %s" % (secret, error)
        return "broken file"


def check_files(documents, suffix, rnd):
    with tempfile.TemporaryDirectory() as confdir:
        write_documents(confdir, documents, suffix)
        found = sources.read_sources(confdir=confdir)
        for raw, origin, source in found.entries:
            assert origin.startswith(source) and source.startswith(confdir)
        verdict, error = check_entries(found.entries, found.problems, rnd)
        raws = [raw for raw, _o, _s in found.entries]
        if error is not None and shown_secrets(raws, str(error)):
            # The same files with every env value masked: the secrets show in neither error text.
            write_documents(confdir, [masked_document(d) for d in documents], suffix)
            masked = sources.read_sources(confdir=confdir)
            _result, masked_error = run(masked.entries, masked.problems)
            assert masked_error is not None
            assert_no_secret_leak(raws, str(error), str(masked_error))
        return verdict


@settings(max_examples=FILE_CASES)
@given(seeds)
def test_json_files(seed):
    gen = Gen(seed)
    documents = [gen.document() for _unused in range(gen.count(3))]
    note("documents = %r" % (documents,))
    event(check_files(documents, ".json", gen.r))
    if gen.chance(0.2):
        event(check_broken_file(documents[0], ".json", gen.r))


@pytest.mark.skipif(yaml is None, reason="PyYAML is not installed")
@settings(max_examples=YAML_CASES)
@given(seeds)
def test_yaml_files(seed):
    gen = Gen(seed, yaml_types=True)
    documents = [gen.document() for _unused in range(gen.count(2))]
    note("documents = %r" % (documents,))
    event(check_files(documents, ".yaml", gen.r))
    if gen.chance(0.2):
        event(check_broken_file(documents[0], ".yaml", gen.r))


def test_profile_runs_at_least_10000_cases():
    """The ci profile's counts (the module docstring)."""
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert 3 * N + STRUCTURED_CASES + FILE_CASES + YAML_CASES >= 10000
