# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a definition maps onto Docker, both ways, in one table-like place.

``create_args`` turns a definition into the arguments of the Engine API's container create (via
docker-py's low-level client). ``live_values`` reads back, from ``docker inspect``, the fields that can
change on a live container without recreating it, in the definition's canonical form, so the planner
can compare them (drift). Fields the definition leaves to the image are never read back.
"""

from __future__ import annotations

from . import schema

MANAGED = schema.LABEL_PREFIX + "managed"
SCOPE = schema.LABEL_PREFIX + "scope"
CONFIG_HASH = schema.LABEL_PREFIX + "config-hash"
SOURCE = schema.LABEL_PREFIX + "source"
DEFINITION = schema.LABEL_PREFIX + "definition"
DEPENDS_ON = schema.LABEL_PREFIX + "depends-on"
# name=container-id of each container this one depended on when it was created: a dependency recreated
# since (by a run that was interrupted before it got to the dependents) makes the planner replace it.
DEPENDENCY_IDS = schema.LABEL_PREFIX + "dependency-ids"


CONTEXT_HASH = schema.LABEL_PREFIX + "context-hash"


def volume_labels(scope):
    return {MANAGED: "true", SCOPE: scope}


def ownership_script(volume, path="/volume"):
    """The shell command that gives a new named volume its owner and permissions."""
    steps = []
    if volume["owner"]:
        steps.append("chown %s %s" % (volume["owner"], path))
    if volume["permissions"]:
        steps.append("chmod %s %s" % (volume["permissions"], path))
    return " && ".join(steps)


def build_args(definition, context_hash):
    """Keyword arguments for ``APIClient.build`` of a definition's ``build``: tagged as its image,
    labelled with the content hash of the context so an untouched context is never rebuilt."""
    build = definition["build"]
    return {
        "path": build["context"],
        "dockerfile": build["dockerfile"],
        "tag": definition["image"],
        "buildargs": build["args"] or None,
        "labels": {CONTEXT_HASH: context_hash},
        "rm": True,
        "forcerm": True,
        "decode": True,
    }


def repository(ref):
    """The repository of an image reference, as Docker spells it in ``RepoDigests``:
    ``docker.io/library/nginx:1`` -> ``nginx``, ``127.0.0.1:5055/app/web@sha256:..`` -> ``127.0.0.1:5055/app/web``."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    if name.startswith("library/") and name.count("/") == 1:
        name = name[len("library/"):]
    return name


def labels_for(definition, scope, dependency_ids=None):
    labels = dict(definition["labels"])
    labels.update(
        {
            MANAGED: "true",
            SCOPE: scope,
            CONFIG_HASH: schema.config_hash(definition),
            SOURCE: definition["source"],
            DEFINITION: schema.fingerprint(definition),
        }
    )
    if definition["depends_on"]:  # kept apart from the definition: changing it does not recreate
        labels[DEPENDS_ON] = ",".join(d["name"] for d in definition["depends_on"])
    if dependency_ids:
        labels[DEPENDENCY_IDS] = ",".join("%s=%s" % item for item in sorted(dependency_ids.items()))
    return labels


def read_dependency_ids(labels):
    """The DEPENDENCY_IDS label as ``{name: container id}``."""
    return dict(item.split("=", 1) for item in labels.get(DEPENDENCY_IDS, "").split(",") if "=" in item)


def port_bindings(definition):
    """``{"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}``; an empty HostPort asks for a random port."""
    bindings = {}
    for port in definition["ports"]:
        key = "%d/%s" % (port["container_port"], port["protocol"])
        host_port = "" if port["host_port"] is None else str(port["host_port"])
        bindings.setdefault(key, []).append({"HostIp": port["host_ip"], "HostPort": host_port})
    return bindings


def restart_policy(definition):
    return {"Name": definition["restart"], "MaximumRetryCount": 0}


def user_network(definition):
    """The definition's user-defined network (where DNS names and aliases exist), or None."""
    return schema.user_network(definition["network"])


def create_args(api, definition, scope, carried_volumes=None, dependency_ids=None, aliases=None):
    """Keyword arguments for ``APIClient.create_container``.

    ``carried_volumes``: ``{container_path: volume_name}`` of a replaced container's volumes (those the
    definition declares and those from the image's VOLUME), mounted again at the same paths so their
    data survives the replacement, as docker compose does. A path now bound to the host is not carried.
    ``dependency_ids``: ``{name: container id}`` of the containers it depends on, recorded in a label.
    ``aliases``: the network aliases to create it with (default the definition's ``aliases``; a switch
    creates the new container without and adds them once it is ready: see apply).
    """
    carried = carried_volumes or {}
    binds = ["%s:%s:%s" % (b["host_path"], b["container_path"], b["mode"]) for b in definition["binds"]]
    binds += ["%s:%s:%s" % (n["name"], n["container_path"], n["mode"]) for n in definition["named_volumes"]]
    bound = {b["container_path"] for b in definition["binds"] + definition["named_volumes"]}
    binds += ["%s:%s:rw" % (carried[path], path) for path in sorted(carried) if path not in bound]
    host_config = api.create_host_config(
        binds=binds or None,
        port_bindings=port_bindings(definition) or None,
        links=definition["links"] or None,
        privileged=definition["privileged"],
        network_mode=definition["network"],
        restart_policy=restart_policy(definition),
        cpu_shares=definition["cpu"] or None,
        mem_limit=definition["memory"] or None,
        volumes_from=definition["volumes_from"] or None,
        init=definition["init"],
    )
    exposed = sorted({(p["container_port"], p["protocol"]) for p in definition["ports"]})
    args = {
        "image": definition["image"],
        "name": definition["name"],
        "command": definition["command"],
        "entrypoint": definition["entrypoint"],
        "environment": ["%s=%s" % item for item in definition["env"].items()] or None,
        "labels": labels_for(definition, scope, dependency_ids),
        "ports": [port if proto == "tcp" else (port, proto) for port, proto in exposed] or None,
        "volumes": sorted(set(definition["anonymous_volumes"]) | bound) or None,
        "host_config": host_config,
        "user": definition["user"],
        "working_dir": definition["working_dir"],
        "hostname": definition["hostname"],
        "stop_signal": definition["stop_signal"],
        "stop_timeout": definition["stop_timeout"],
    }
    aliases = definition["aliases"] if aliases is None else aliases
    if aliases and user_network(definition):
        args["networking_config"] = api.create_networking_config(
            {definition["network"]: api.create_endpoint_config(aliases=list(aliases))})
    if definition["healthcheck"]:
        args["healthcheck"] = healthcheck(definition["healthcheck"])
    if definition["entrypoint"] == []:
        args["entrypoint"] = [""]  # Docker's way to say "no entrypoint"
    return {k: v for k, v in args.items() if v is not None}


def healthcheck(check):
    """The Engine API's Healthcheck: durations in nanoseconds; unset values left to Docker."""
    nanoseconds = {"interval": "interval", "timeout": "timeout", "start_period": "start_period"}
    result = {"test": check["test"]}
    for key, name in nanoseconds.items():
        if check[key] is not None:
            result[name] = int(check[key] * 1e9)
    if check["retries"] is not None:
        result["retries"] = check["retries"]
    return result


def _restart_name(host_config):
    name = (host_config.get("RestartPolicy") or {}).get("Name") or "no"
    return name


# Fields that can drift on a live container (``docker update``, by hand), read back in canonical form.
# field -> (reader of inspect attrs, how to repair: "update" in place or "replace"). A field is compared
# only when the definition sets it (``drift_fields``), except restart, whose default is documented.
ALWAYS_COMPARED = ("restart",)
LIVE_FIELDS = {
    "restart": (lambda attrs: _restart_name(attrs["HostConfig"]), "update"),
    "cpu": (lambda attrs: attrs["HostConfig"].get("CpuShares") or 0, "update"),
    "memory": (lambda attrs: attrs["HostConfig"].get("Memory") or 0, "replace"),
    "privileged": (lambda attrs: bool(attrs["HostConfig"].get("Privileged")), "replace"),
    "init": (lambda attrs: bool(attrs["HostConfig"].get("Init")), "replace"),
}


def drift_fields(definition):
    """The live fields compared with ``definition``: those it sets, and restart."""
    return sorted(f for f in LIVE_FIELDS if f in ALWAYS_COMPARED or f in definition["given"])


def live_values(attrs):
    return {field: reader(attrs) for field, (reader, _repair) in LIVE_FIELDS.items()}


def repair_in_place(field, definition):
    """True when drift of ``field`` is repaired with ``docker update`` (no restart) rather than a
    replacement. The Engine API treats CPU shares of 0 in an update as "unchanged", so that one is replaced."""
    if LIVE_FIELDS[field][1] != "update":
        return False
    return field != "cpu" or definition["cpu"] > 0


def update_args(definition, fields):
    """Keyword arguments for ``APIClient.update_container`` that repair ``fields`` in place."""
    args = {}
    if "restart" in fields:
        args["restart_policy"] = restart_policy(definition)
    if "cpu" in fields:
        args["cpu_shares"] = definition["cpu"]
    return args


def anonymous_volumes(attrs):
    """``{container_path: volume_name}`` of the volumes a container declares itself (its definition's
    anonymous volumes and its image's VOLUME paths: ``Config.Volumes``), not those from volumes-from."""
    declared = {schema.container_path(path) for path in (attrs.get("Config") or {}).get("Volumes") or {}}
    found = {}
    for mount in attrs.get("Mounts") or []:
        if mount.get("Type") == "volume" and mount.get("Name") and schema.container_path(mount.get("Destination", "")) in declared:
            found[mount["Destination"]] = mount["Name"]
    return found


def bound_ports(attrs):
    """Ports actually bound on the host: ``{"80/tcp": [{"host_ip": "0.0.0.0", "host_port": 32768}]}``."""
    ports = {}
    for key, bindings in sorted(((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items()):
        if bindings:
            ports[key] = [{"host_ip": b.get("HostIp", ""), "host_port": int(b["HostPort"])} for b in bindings if b.get("HostPort")]
    return ports
