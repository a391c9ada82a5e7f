# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The container definition format: its JSON Schema, validation, normalisation and config hash.

A raw definition (the JSON an operator wrote) becomes a *definition*: a plain dict in canonical form
(snake_case keys, our documented defaults filled, ports as integers, memory in bytes, commands as
argv lists, order-insensitive lists sorted). Two raw definitions that mean the same thing give the
same definition and the same hash. Everything downstream (plan, apply, report) sees definitions only.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import shlex


from .errors import DefinitionError

LABEL_PREFIX = "io.dockerup."
MASK = "********"

_PORT = {
    "oneOf": [
        {"type": "integer", "minimum": 1, "maximum": 65535},
        {"type": "string", "pattern": "^[0-9]{1,5}$"},
    ]
}
_STRING_OR_ARGV = {
    "oneOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
    ]
}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$"
_DURATION = {
    "oneOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": _DURATION_PATTERN},
    ]
}

# How an eager switch on a user-defined network moves the name (update.switch, apply.py): "overlap" gives
# the new container the name as a network alias first, so that the name resolves to both for a while
# (proxies that fail a request on a name that does not resolve: nginx); "rename" moves it by two renames,
# so that the old container always leaves the name while it still serves (proxies that send a request
# again only when its connection failed: Traefik). The first is the default (DEFAULT_SWITCH).
SWITCHES = ("overlap", "rename")

# The one schema document of the format. Field meanings: README "Container format" and DESIGN.md.
SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "dockerup container definition",
    "type": "object",
    "required": ["name", "image"],
    "additionalProperties": False,
    "properties": {
        "type": {"enum": ["docker"]},
        "name": {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"},
        "image": {"type": "string", "minLength": 1, "pattern": "^[^\\s]+$"},
        "cpu": {
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9]+$"},
            ]
        },
        "memory": {
            "oneOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": "^[0-9]+[bkmgBKMG]?$"},
            ]
        },
        "entrypoint": _STRING_OR_ARGV,
        "command": _STRING_OR_ARGV,
        "privileged": {"type": "boolean"},
        "network": {"type": "string", "minLength": 1},
        "volumes": {
            "type": "array",
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["containerPath"],
                        "additionalProperties": False,
                        "properties": {
                            "containerPath": {"type": "string", "pattern": "^/"},
                            "hostPath": {"type": "string", "pattern": "^/"},
                            "mode": {"enum": ["ro", "rw", "RO", "RW"]},
                        },
                    },
                    {
                        "type": "object",
                        "required": ["from"],
                        "additionalProperties": False,
                        "properties": {"from": {"type": "string", "minLength": 1}},
                    },
                    {
                        "type": "object",
                        "required": ["name", "containerPath"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$"},
                            "containerPath": {"type": "string", "pattern": "^/"},
                            "mode": {"enum": ["ro", "rw", "RO", "RW"]},
                            "owner": {"type": "string", "pattern": "^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$"},
                            "permissions": {
                                "type": "string",
                                "pattern": "^([0-7]{3,4}|[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*)$",
                            },
                        },
                    },
                ]
            },
        },
        "dependsOn": {
            "type": "array",
            "items": {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "object",
                        "required": ["name"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "condition": {"enum": ["started", "healthy"]},
                        },
                    },
                ]
            },
        },
        "exec": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["command"],
                "additionalProperties": False,
                "properties": {"command": _STRING_OR_ARGV, "user": {"type": "string", "minLength": 1}},
            },
        },
        "build": {
            "type": "object",
            "required": ["context"],
            "additionalProperties": False,
            "properties": {
                "context": {"type": "string", "pattern": "^/"},
                "dockerfile": {"type": "string", "minLength": 1},
                "args": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            },
        },
        "portMappings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["containerPort"],
                "additionalProperties": False,
                "properties": {
                    "containerPort": _PORT,
                    "hostPort": _PORT,
                    "protocol": {"enum": ["tcp", "udp", "TCP", "UDP"]},
                    "hostIp": {"type": "string"},
                },
            },
        },
        "env": {
            "type": "object",
            "propertyNames": {"pattern": "^[^=]+$"},
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        "restart": {"enum": ["always", "on-failure", "never", "unless-stopped"]},
        "update": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "pull": {"type": "boolean"},
                "eager": {"type": "boolean"},
                "switch": {"enum": list(SWITCHES)},
                "rolling": {"type": "boolean"},
                "minReadySeconds": _DURATION,
                "drainSeconds": _DURATION,
            },
        },
        "healthcheck": {
            "type": "object",
            "required": ["test"],
            "additionalProperties": False,
            "properties": {
                "test": {
                    "oneOf": [
                        {"type": "string", "minLength": 1},
                        {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    ]
                },
                "interval": _DURATION,
                "timeout": _DURATION,
                "retries": {"type": "integer", "minimum": 0},
                "startPeriod": _DURATION,
            },
        },
        "links": _STRING_MAP,
        "labels": _STRING_MAP,
        "user": {"type": "string", "minLength": 1},
        "workingDir": {"type": "string", "pattern": "^/"},
        "hostname": {"type": "string", "minLength": 1},
        "init": {"type": "boolean"},
        "stopSignal": {"type": "string", "minLength": 1},
        "stopTimeout": {"type": "integer", "minimum": 0},
        "aliases": {"type": "array", "items": {"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", "maxLength": 253}},
    },
}

# Our documented defaults. Writing one of them explicitly is not a change.
DEFAULT_RESTART = "on-failure"
DEFAULT_NETWORK = "bridge"
DEFAULT_MIN_READY_SECONDS = 2
# Seconds a proxy gets to see a DNS change before the next step of a switch (update.drainSeconds):
# a proxy that re-resolves every second (nginx ``resolver ... valid=1s``) has then re-resolved.
DEFAULT_DRAIN_SECONDS = 2
DEFAULT_SWITCH = SWITCHES[0]
MAX_DURATION = 9223372036  # seconds: the Engine API counts durations in int64 nanoseconds
BUILTIN_NETWORKS = ("bridge", "host", "none")


def user_network(network):
    """``network`` when it is a user-defined network (where DNS names and aliases exist), else None."""
    return None if network in BUILTIN_NETWORKS or network.startswith("container:") else network


_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
_RESTART_NAMES = {"never": "no"}


_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # keys quoted back in error texts


def json_path(parts):
    """Render a jsonschema absolute path as ``portMappings[0].hostPort``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text or "(definition)"


def _explain(error):
    """One or more messages for a jsonschema error, with secrets masked and did-you-mean hints."""
    path = list(error.absolute_path)
    where = json_path(path)
    if error.validator in ("pattern", "propertyNames") and path == ["env"]:
        return ["env: variable names must not be empty, contain '=' or end with a line break"]
    if path and path[0] == "env":
        return ["%s: must be a string, number or boolean (value not shown)" % where]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        messages = []
        for key in sorted(set(error.instance) - known):
            if not _FIELD_NAME.match(key):  # not a field name: maybe the content of a file linked by mistake
                messages.append("%s: an unknown key of %d characters (not shown)" % (json_path(path), len(key)))
                continue
            text = "%s: unknown key %r" % (json_path(path + [key]), key)
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
            if not close:
                close = [k for k in sorted(known) if k.lower() == key.lower()]
            if close:
                text += " (did you mean %r?)" % close[0]
            messages.append(text)
        return messages
    if error.validator == "oneOf" and path and path[0] == "volumes" and isinstance(error.instance, dict):
        if "from" in error.instance and len(error.instance) > 1:
            return ["%s: a volume is {containerPath, hostPath?, mode?}, {name, containerPath, mode?, owner?, permissions?} "
                    "or {\"from\": <container>}, not a mix" % where]
        if "from" not in error.instance:
            branch = 2 if "name" in error.instance else 0
            sub = type(_validator())(SCHEMA["properties"]["volumes"]["items"]["oneOf"][branch])
            return [
                "%s: %s" % (json_path(path + list(e.absolute_path)), e.message)
                for e in sub.iter_errors(error.instance)
            ] or ["%s: %s" % (where, error.message)]
    if error.validator == "oneOf":
        return ["%s: %s" % (where, _describe_oneof(path, error.instance))]
    if error.validator == "pattern" and path == ["name"]:
        return ["name: %r is not a valid Docker container name (2 or more letters, digits, '_', '.' or '-', "
                "starting with a letter or digit)" % error.instance]
    if error.validator == "required":
        return ["%s: %s" % (where, error.message)]
    return ["%s: %s" % (where, error.message)]


def _describe_oneof(path, instance):
    name = path[-1] if path else ""
    expected = {
        "containerPort": "a port number (1-65535), as an integer or a string of digits",
        "hostPort": "a port number (1-65535), as an integer or a string of digits",
        "cpu": "CPU shares as a non-negative integer",
        "memory": "bytes as an integer, or a string like \"512m\" or \"1g\"",
        "entrypoint": "a string (split like a shell) or a list of strings",
        "test": "a shell command string, or a list (exec form)",
        "interval": "seconds, or a duration like \"1m30s\"",
        "timeout": "seconds, or a duration like \"1m30s\"",
        "startPeriod": "seconds, or a duration like \"1m30s\"",
        "minReadySeconds": "seconds, or a duration like \"1m30s\"",
        "drainSeconds": "seconds, or a duration like \"1m30s\"",
        "command": "a string (split like a shell) or a list of strings",
    }.get(name, "a valid value")
    return "%r is not valid: expected %s" % (instance, expected)


def container_label(raw, index):
    if isinstance(raw, dict) and isinstance(raw.get("name"), str):
        return "container %r" % raw["name"]
    return "container #%d" % (index + 1)


_VALIDATORS = []


def _validator():
    """One validator for the process, imported on first use (runs whose input was validated before
    never import jsonschema: see ``input_digest``)."""
    if not _VALIDATORS:
        import jsonschema  # pylint: disable=import-outside-toplevel

        def whole_pattern(_validator, pattern, instance, _schema):
            # Python's "$" also matches before a final line break: "web\n" would pass "^[a-z]+$". A pattern
            # that ends with "$" means the whole string here: one that ends with a line break never matches.
            if isinstance(instance, str) and (not re.search(pattern, instance)
                                              or pattern.endswith("$") and instance.endswith("\n")):
                yield jsonschema.ValidationError("%r does not match %r" % (instance, pattern))

        validator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": whole_pattern})
        _VALIDATORS.append(validator(SCHEMA))
    return _VALIDATORS[0]


def check_definition(raw):
    """Every problem of one raw definition, as ``path: message`` strings (empty when valid)."""
    problems = _plain_json_problems(raw)
    if problems:  # (jsonschema and the messages below expect JSON: string keys, finite numbers)
        return problems
    validator = _validator()
    for error in sorted(validator.iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.extend(p for p in _explain(error) if p not in problems)
    if problems or not isinstance(raw, dict):
        return problems
    return _check_semantics(raw)


def _plain_json_problems(value, path=()):
    """What JSON cannot hold but a YAML file (keys that are not strings) or a lenient JSON parser
    (NaN, Infinity) can give. Values are not shown: this may be inside ``env``."""
    problems = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                problems.extend(_plain_json_problems(item, path + (key,)))
            else:
                problems.append("%s: keys must be strings, not %r" % (json_path(path), key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problems.extend(_plain_json_problems(item, path + (index,)))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append("%s: must be a finite number" % json_path(path))
    return problems


def _check_semantics(raw):
    """Rules a JSON Schema cannot say clearly. Runs on schema-valid definitions only."""
    problems = []
    for key in sorted(raw.get("labels", {})):
        if key.startswith(LABEL_PREFIX):
            problems.append("labels.%s: labels starting with %r belong to dockerup and cannot be set" % (key, LABEL_PREFIX))
    network = raw.get("network", DEFAULT_NETWORK)
    if raw.get("portMappings") and (network in ("host", "none") or network.startswith("container:")):
        problems.append("portMappings: ports cannot be published with network %r (Docker would ignore them)" % network)
    if network == "container:" or network == "container:" + raw["name"]:
        problems.append("network: %r must name another container" % network)
    if raw.get("aliases") and not user_network(network):
        problems.append("aliases: network aliases need a user-defined network (network is %r)" % network)
    if raw.get("update", {}).get("eager"):
        for index, port in enumerate(raw.get("portMappings", [])):
            if "hostPort" in port:
                problems.append(
                    "update.eager: cannot be combined with portMappings[%d].hostPort %s: the replacement starts while the "
                    "old container still holds that host port; drop hostPort (random port) or eager" % (index, port["hostPort"]))
    elif "switch" in raw.get("update", {}):
        problems.append("update.switch: says how an eager update moves the name; it needs update.eager: true")
    seen = {}
    for index, volume in enumerate(raw.get("volumes", [])):
        target = volume.get("containerPath")
        if target is None:
            continue
        target = target.rstrip("/") or "/"
        if target in seen:
            problems.append("volumes[%d].containerPath: %r is already mounted by volumes[%d]" % (index, target, seen[target]))
        seen[target] = index
    for index, port in enumerate(raw.get("portMappings", [])):
        for field in ("containerPort", "hostPort"):
            if field in port and not 1 <= int(port[field]) <= 65535:
                problems.append("portMappings[%d].%s: %s is not a port number (1-65535)" % (index, field, port[field]))
    for where, value in [("update." + f, raw.get("update", {}).get(f)) for f in ("minReadySeconds", "drainSeconds")] + [
            ("healthcheck." + field, raw.get("healthcheck", {}).get(field)) for field in ("interval", "timeout", "startPeriod")]:
        if value is not None and seconds(value) > MAX_DURATION:
            problems.append("%s: at most %d seconds" % (where, MAX_DURATION))
    bound = {}
    for index, port in enumerate(raw.get("portMappings", [])):
        if "hostPort" not in port:
            continue
        key = (port.get("hostIp", ""), int(port["hostPort"]), port.get("protocol", "tcp").lower())
        if key in bound:
            problems.append("portMappings[%d].hostPort: %s is already published by portMappings[%d]" % (index, key[1], bound[key]))
        bound[key] = index
    commands = [(field, raw.get(field)) for field in ("entrypoint", "command")]
    commands += [("exec[%d].command" % index, step["command"]) for index, step in enumerate(raw.get("exec", []))]
    for field, command in commands:
        if isinstance(command, str):
            try:
                shlex.split(command)
            except ValueError as exc:
                problems.append("%s: cannot be split like a shell: %s" % (field, exc))
    return problems


def _argv(value):
    if value is None:
        return None
    return shlex.split(value) if isinstance(value, str) else list(value)


def _memory(value):
    if value is None:
        return 0
    if isinstance(value, (int, float)):  # (JSON Schema's integers include 5.0)
        return int(value)
    match = re.match(r"^([0-9]+)([bkmgBKMG]?)$", value)
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]


_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def seconds(value):
    """A duration in seconds: a number, or a string such as ``"1m30s"``, ``"500ms"``, ``"2h"``."""
    if value is None or isinstance(value, (int, float)):
        return value
    total = 0.0
    for number, unit in re.findall(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s)", value):
        total += float(number) * _DURATION_UNITS[unit]
    return int(total) if total.is_integer() else total


def _healthcheck(raw):
    if raw is None:
        return None
    test = raw["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    elif test[0] not in ("CMD", "CMD-SHELL", "NONE"):
        test = ["CMD"] + list(test)
    return {
        "test": list(test),
        "interval": seconds(raw.get("interval")),
        "timeout": seconds(raw.get("timeout")),
        "retries": None if raw.get("retries") is None else int(raw["retries"]),
        "start_period": seconds(raw.get("startPeriod")),
    }


def env_text(value):
    """JSON scalars become text: true/false, integers in decimal, other numbers as json.dumps writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def container_path(path):
    """``/cache/`` and ``/cache`` are one mount point (Docker reports it without the slash)."""
    return path.rstrip("/") or "/"


def normalise(raw, source):
    """The canonical definition of a schema-valid raw definition. ``source`` is the label value."""
    volumes = [dict(v, containerPath=container_path(v["containerPath"])) if "containerPath" in v else v
               for v in raw.get("volumes", [])]
    binds = sorted(
        (
            {"container_path": v["containerPath"], "host_path": v["hostPath"], "mode": v.get("mode", "rw").lower()}
            for v in volumes
            if "hostPath" in v
        ),
        key=lambda b: b["container_path"],
    )
    ports = sorted(
        (
            {
                "container_port": int(p["containerPort"]),
                "protocol": p.get("protocol", "tcp").lower(),
                "host_ip": p.get("hostIp", ""),
                "host_port": int(p["hostPort"]) if "hostPort" in p else None,
            }
            for p in raw.get("portMappings", [])
        ),
        key=lambda p: (p["container_port"], p["protocol"], p["host_ip"], p["host_port"] or 0),
    )
    restart = raw.get("restart", DEFAULT_RESTART)
    update = raw.get("update", {})
    named = sorted(
        (
            {"name": v["name"], "container_path": v["containerPath"], "mode": v.get("mode", "rw").lower(),
             "owner": v.get("owner"), "permissions": v.get("permissions")}
            for v in volumes
            if "name" in v
        ),
        key=lambda n: n["container_path"],
    )
    build = raw.get("build")
    return {
        "name": raw["name"],
        "image": raw["image"],
        "source": source,
        "cpu": int(raw.get("cpu", 0)),
        "memory": _memory(raw.get("memory")),
        "entrypoint": _argv(raw.get("entrypoint")),
        "command": _argv(raw.get("command")),
        "privileged": raw.get("privileged", False),
        "network": raw.get("network", DEFAULT_NETWORK),
        "binds": binds,
        "anonymous_volumes": sorted(v["containerPath"] for v in volumes if "containerPath" in v and "hostPath" not in v and "name" not in v),
        "named_volumes": named,
        "volumes_from": sorted(v["from"] for v in volumes if "from" in v),
        "ports": ports,
        "env": {k: env_text(v) for k, v in sorted(raw.get("env", {}).items())},
        "restart": _RESTART_NAMES.get(restart, restart),
        "links": dict(sorted(raw.get("links", {}).items())),
        "labels": dict(sorted(raw.get("labels", {}).items())),
        "user": raw.get("user"),
        "working_dir": raw.get("workingDir"),
        "hostname": raw.get("hostname"),
        "init": raw.get("init", False),
        "aliases": sorted(set(raw.get("aliases", []))),
        "stop_signal": raw.get("stopSignal"),
        "stop_timeout": None if raw.get("stopTimeout") is None else int(raw["stopTimeout"]),
        "healthcheck": _healthcheck(raw.get("healthcheck")),
        "exec": [{"command": _argv(e["command"]), "user": e.get("user")} for e in raw.get("exec", [])] or None,
        "depends_on": sorted(
            ({"name": d, "condition": "started"} if isinstance(d, str) else {"name": d["name"], "condition": d.get("condition", "started")}
             for d in raw.get("dependsOn", [])),
            key=lambda d: d["name"],
        ),
        "build": None if build is None else {
            "context": build["context"],
            "dockerfile": build.get("dockerfile", "Dockerfile"),
            "args": {k: env_text(v) for k, v in sorted(build.get("args", {}).items())},
        },
        "pull": update.get("pull"),
        "eager": update.get("eager", False),
        "switch": update.get("switch", DEFAULT_SWITCH),
        "rolling": update.get("rolling", False),
        "min_ready_seconds": seconds(update.get("minReadySeconds", DEFAULT_MIN_READY_SECONDS)),
        "drain_seconds": seconds(update.get("drainSeconds", DEFAULT_DRAIN_SECONDS)),
        "given": sorted(raw),  # the fields the definition sets: only those can drift (and restart)
    }


# Keys of a definition that say how to update, not what to run: never part of the hash.
POLICY_KEYS = ("source", "pull", "eager", "switch", "rolling", "min_ready_seconds", "drain_seconds", "depends_on", "build", "given")


def _secret_digest(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


def fingerprint(definition):
    """What a container records of its definition (label ``io.dockerup.definition``): the canonical
    definition without policy keys, env values replaced by digests so the label holds no secret."""
    # Unset and empty optional fields are left out, so that a field added to the format later does not
    # change the hash of containers created before it existed. (An empty command or entrypoint is kept:
    # it means "none", not "the image's".)
    record = {
        k: v for k, v in definition.items()
        if k not in POLICY_KEYS and v is not None and (v not in ([], {}) or k in ("command", "entrypoint"))
    }
    record["env"] = {k: _secret_digest(v) for k, v in definition["env"].items()}
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def config_hash(definition):
    return hashlib.sha256(fingerprint(definition).encode("utf-8")).hexdigest()


def dependencies(definition):
    """Names of the containers this one needs first: dependsOn, links, volumes-from, network container:X."""
    names = set(definition["links"]) | set(definition["volumes_from"]) | {d["name"] for d in definition["depends_on"]}
    if definition["network"].startswith("container:"):
        names.add(definition["network"][len("container:"):])
    return names


def input_digest(entries):
    """A digest of raw entries and of this schema: equal digests mean the same validation result; None when
    the entries cannot be serialised (they never pass validation then)."""
    try:
        text = json.dumps([SCHEMA, [[raw, origin, source] for raw, origin, source in entries]], sort_keys=True, default=repr)
    except TypeError:  # keys that are not strings (YAML's 1: or null:): validation reports them, nothing to trust
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate(entries, problems=(), trusted=False):
    """Validate and normalise every entry at once.

    ``entries``: list of ``(raw, origin, source)`` where ``origin`` names the place for messages
    (``/etc/dockerup/containers.d/web.json``, ``user-data``, ``inline[2]``) and ``source`` is the label
    value. ``problems``: those found while reading the sources, reported together with these.
    ``trusted``: these exact entries passed validation before (same ``input_digest``), so the per-
    definition checks are skipped; names, dependencies and normalisation are always done.
    Returns the definitions in order; raises DefinitionError listing every problem.
    """
    problems = list(problems)
    definitions = []
    origins = {}
    for index, (raw, origin, source) in enumerate(entries):
        label = container_label(raw, index)
        found = [] if trusted else check_definition(raw)
        if found:
            problems.extend("%s: %s: %s" % (origin, label, p) for p in found)
            continue
        name = raw["name"]
        if name in origins:
            problems.append("%s: container %r is also defined in %s" % (origin, name, origins[name]))
            continue
        origins[name] = origin
        definitions.append(normalise(raw, source))
    for definition in definitions:
        for dep in definition["depends_on"]:
            if dep["name"] not in origins:
                problems.append("%s: container %r: dependsOn: %r is not defined in any source" % (
                    origins[definition["name"]], definition["name"], dep["name"]))
    problems.extend(_cycle_problems(definitions, origins))
    if problems:
        raise DefinitionError(problems)
    return definitions


def _cycle_problems(definitions, origins):
    graph = {d["name"]: sorted(dependencies(d) & {x["name"] for x in definitions}) for d in definitions}
    problems = []
    state = {}

    def visit(name, trail):
        state[name] = "active"
        for dep in graph[name]:
            if state.get(dep) == "active":
                cycle = trail[trail.index(dep):] + [dep]
                problems.append("%s: container %r: dependency cycle: %s" % (origins[name], name, " -> ".join(cycle)))
            elif dep not in state:
                visit(dep, trail + [dep])
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])
    return problems


def dependency_order(definitions):
    """Definitions grouped in waves: each wave depends only on earlier waves (definition order kept)."""
    names = {d["name"] for d in definitions}
    remaining = list(definitions)
    placed = set()
    waves = []
    while remaining:
        wave = [d for d in remaining if (dependencies(d) & names) <= placed]
        if not wave:  # a cycle; validate() reports these, keep going rather than loop forever
            wave = remaining
        waves.append(wave)
        placed |= {d["name"] for d in wave}
        remaining = [d for d in remaining if d["name"] not in placed]
    return waves


def masked(definition):
    """A copy of a definition safe to show: env values masked."""
    shown = dict(definition)
    shown["env"] = {k: MASK for k in definition["env"]}
    return shown


def to_format(record):
    """A canonical record shown in the format's own vocabulary (``portMappings``, ``volumes``, ...),
    for diffs and messages. Takes a definition or a fingerprint record; policy keys are left out."""
    shown = {}
    for key, value in record.items():
        if key in POLICY_KEYS or key in ("binds", "anonymous_volumes", "volumes_from", "named_volumes", "ports"):
            continue
        shown[_FORMAT_NAMES.get(key, key)] = "never" if key == "restart" and value == "no" else value
    volumes = [
        {"containerPath": b["container_path"], "hostPath": b["host_path"], "mode": b["mode"]} for b in record.get("binds", [])
    ]
    volumes += [{"containerPath": path} for path in record.get("anonymous_volumes", [])]
    volumes += [{"from": name} for name in record.get("volumes_from", [])]
    for named in record.get("named_volumes", []):
        shown_volume = {"name": named["name"], "containerPath": named["container_path"], "mode": named["mode"]}
        shown_volume.update({k: named[k] for k in ("owner", "permissions") if named.get(k)})
        volumes.append(shown_volume)
    shown["volumes"] = volumes
    ports = []
    for port in record.get("ports", []):
        shown_port = {"containerPort": port["container_port"], "protocol": port["protocol"]}
        if port["host_port"] is not None:
            shown_port["hostPort"] = port["host_port"]
        if port["host_ip"]:
            shown_port["hostIp"] = port["host_ip"]
        ports.append(shown_port)
    shown["portMappings"] = ports
    return {k: v for k, v in shown.items() if v is not None}


_FORMAT_NAMES = {"working_dir": "workingDir", "stop_signal": "stopSignal", "stop_timeout": "stopTimeout"}
