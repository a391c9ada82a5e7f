# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: desired definitions + observed engine state -> ordered actions with reasons. No I/O.

Check mode shows this plan; a real run applies it. Each action is a dict:
``{"action", "container", "reasons", "diff": (before, after) or None, ...details for apply}``.
Actions come in this order: networks, pulls, recoveries, removals, then the containers wave by wave
in dependency order (definition order inside a wave).
"""

from __future__ import annotations

import json

from . import dockerspec, schema
from .observe import image_current

CHANGED_MARK = schema.MASK + " (changed)"


class Plan:
    def __init__(self):
        self.actions = []
        self.errors = {}  # container name -> reason (that container is not converged)
        self.warnings = []

    def add(self, action, container, reasons, diff=None, **details):
        entry = {"action": action, "container": container, "reasons": list(reasons), "diff": diff}
        entry.update(details)
        self.actions.append(entry)
        return entry

    @property
    def changes(self):
        return bool(self.actions)


def short_id(image_id):
    return (image_id or "").replace("sha256:", "")[:12]


def recorded_name(container):
    """The name a managed container was created with (its definition label), else its current name."""
    try:
        return json.loads(container["definition"])["name"]
    except (TypeError, ValueError, KeyError):
        return container["name"]


def plan_actions(definitions, observed, prune=True, unread=(), cleanup=True, prune_volumes=False):
    """The plan for ``definitions`` on the ``observed`` engine. ``prune``: remove unlisted managed
    containers; ``unread``: sources whose containers must not be pruned in this run; ``cleanup``: with
    ``prune`` off, still remove unlisted managed containers that have exited; ``prune_volumes``: remove
    our named volumes that no definition mounts and no container uses. (Which images are checked for
    updates was decided when observing: see ``observe.wants_update_check``.)"""
    plan = Plan()
    desired = {d["name"]: d for d in definitions}
    current = {}
    leftovers = []
    for container in observed.containers:
        if container["name"] == recorded_name(container):
            current[container["name"]] = container
        else:
            leftovers.append(container)

    _plan_networks(plan, definitions, observed)
    image_updates = _plan_builds(plan, definitions, observed)
    image_updates.update(_plan_pulls(plan, definitions, observed))
    _plan_volumes(plan, definitions, observed)

    removals = []
    # A run killed during a replacement leaves the old container set aside (``<name>_dockerup_old_*``)
    # and maybe the new one under ``<name>_dockerup_new_*`` (eager, or a definition with aliases).
    # Bring one back under the name when the name is free, remove the rest. Preferred: a running new
    # one (it was ready: the name is freed only after that, and it may already serve through the
    # name's alias), then a running old one, then the set-aside old one.
    for container in sorted(leftovers, key=_recovery_rank):
        name = recorded_name(container)
        if name in desired and name not in current and name not in observed.foreign:
            plan.add("recover", name, ["left renamed as %r by an interrupted replacement; renamed back" % container["name"]],
                     target=container, definition=desired[name])
            current[name] = dict(container, name=name)
        else:
            removals.append((container, "left over from an interrupted replacement of %r" % name))
    for name, container in sorted(current.items()):
        if name not in desired:
            exited = container["status"] in ("created", "exited", "dead")
            removals.append((container, "no longer listed" if prune or not (cleanup and exited) else "exited and no longer listed (cleanup)"))
    for container, reason in _dependents_first(removals):
        if container["source"] in unread:
            plan.warnings.append(
                "container %r kept: its source %r could not be read in this run" % (container["name"], container["source"])
            )
        elif prune or reason != "no longer listed":  # leftovers and cleanup go even when prune is off
            before = _shown_record(container)
            plan.add("remove", container["name"], [reason], diff=(before, {}), target=container)

    recreated = set()
    for wave in schema.dependency_order(definitions):
        for definition in wave:
            _plan_container(plan, definition, current, observed, image_updates, recreated)

    if prune_volumes:
        wanted = {n["name"] for d in definitions for n in d["named_volumes"]}
        for name, volume in sorted(observed.volumes.items()):
            if volume["ours"] and name not in wanted and not volume["in_use"]:
                plan.add("remove_volume", name, ["named volume no longer mounted by any definition (prune_volumes)"], volume=name)
    return plan


def _recovery_rank(container):
    running = container["status"] == "running"
    return (not running, not (running and "_dockerup_new_" in container["name"]),
            "_dockerup_old_" not in container["name"], container["name"])


def recorded_dependencies(container):
    """What a running container depended on when it was created (from its labels)."""
    try:
        record = json.loads(container["definition"])
    except (TypeError, ValueError):
        return set(container["depends_on"])
    names = set(record.get("links", {})) | set(record.get("volumes_from", [])) | set(container["depends_on"])
    if record.get("network", "").startswith("container:"):
        names.add(record["network"][len("container:"):])
    return names


def _dependents_first(removals):
    """Removals ordered so that a container goes before the containers it depends on."""
    pending = list(removals)
    ordered = []
    while pending:
        needed = set().union(*(recorded_dependencies(c) for c, _reason in pending))
        ready = [r for r in pending if r[0]["name"] not in needed] or pending  # a cycle: any order
        ordered.extend(ready)
        pending = [r for r in pending if r not in ready]
    return ordered


def _plan_volumes(plan, definitions, observed):
    first = {}
    for definition in definitions:
        for volume in definition["named_volumes"]:
            first.setdefault(volume["name"], (volume, definition))
    for name, (volume, definition) in sorted(first.items()):
        if name in observed.volumes:
            continue
        users = sorted(d["name"] for d in definitions if any(n["name"] == name for n in d["named_volumes"]))
        reason = "named volume %r does not exist; created with our label" % name
        if volume["owner"] or volume["permissions"]:
            reason += ", owner %s, permissions %s" % (volume["owner"] or "unchanged", volume["permissions"] or "unchanged")
        plan.add("volume", ", ".join(users), [reason], volume=name, spec=volume, image=definition["image"])


def _plan_builds(plan, definitions, observed):
    """Build actions, for images built from a local context that is new or changed."""
    image_updates = {}
    for definition in definitions:
        ref = definition["image"]
        if not definition["build"] or ref in image_updates:
            continue
        users = sorted(d["name"] for d in definitions if d["image"] == ref)
        now = observed.contexts[ref]
        image = observed.images.get(ref)
        if image is None:
            reason = "image %s is not on the host; built from %s" % (ref, definition["build"]["context"])
        elif image["context_hash"] != now:
            reason = "build context %s changed; image %s is rebuilt" % (definition["build"]["context"], ref)
        else:
            continue
        plan.add("build", ", ".join(users), [reason], image=ref, definition=definition, context_hash=now)
        image_updates[ref] = (reason, image is not None)
    return image_updates


def _plan_networks(plan, definitions, observed):
    for network in sorted({d["network"] for d in definitions}):
        if not schema.user_network(network) or network in observed.networks:
            continue
        users = sorted(d["name"] for d in definitions if d["network"] == network)
        plan.add("network", ", ".join(users), ["network %r does not exist; created with our label" % network], network=network)


def _plan_pulls(plan, definitions, observed):
    """Pull actions. Returns ``{ref: (reason, certain)}`` for images whose pull changes (``certain``: the
    registry says so) or may change (the local image was missing) what running containers should run."""
    image_updates = {}
    for ref in sorted({d["image"] for d in definitions if not d["build"]}):
        users = sorted(d["name"] for d in definitions if d["image"] == ref)
        image = observed.images.get(ref)
        if image is None:
            plan.add("pull", ", ".join(users), ["image %s is not on the host" % ref], image=ref)
            image_updates[ref] = ("image %s is pulled again and may name another image" % ref, False)
            continue
        registry = observed.registry.get(ref)
        if registry is None:
            continue
        if "error" in registry:
            plan.warnings.append("could not check %s for updates (%s); running containers are kept as they are" % (ref, registry["error"]))
        elif not image_current(image, registry):
            old = ", ".join(d.split("@", 1)[-1] for d in image["digests"]) or "none"
            reason = "image update available for %s: %s -> %s" % (ref, old, registry["digest"])
            plan.add("pull", ", ".join(users), [reason], image=ref, new_digest=registry["digest"])
            image_updates[ref] = (reason, True)
    return image_updates


def _shown_record(container):
    """What a running container's definition label says, in the format's vocabulary (env masked)."""
    try:
        record = json.loads(container["definition"])
    except (TypeError, ValueError):
        return {"name": container["name"], "image": container["image"]}
    record["env"] = {k: schema.MASK for k in record.get("env", {})}
    return schema.to_format(record)


def _comparable(key, value):
    """Missing and empty are the same, except for command and entrypoint (empty there means "none")."""
    return value if value not in ([], {}) or key in ("command", "entrypoint") else None


def definition_diff(container, definition):
    """``(changed field names, before, after)`` between a container's recorded definition and ``definition``."""
    after_record = json.loads(schema.fingerprint(definition))
    try:
        before_record = json.loads(container["definition"])
    except (TypeError, ValueError):
        return ["definition"], {}, schema.to_format(schema.masked(definition))
    before_shown = schema.to_format(before_record)
    after_shown = schema.to_format(after_record)
    fields, before, after = [], {}, {}
    for key in sorted(set(before_shown) | set(after_shown)):
        if key == "env":
            continue
        if _comparable(key, before_shown.get(key)) != _comparable(key, after_shown.get(key)):
            fields.append(key)
            if key in before_shown:
                before[key] = before_shown[key]
            if key in after_shown:
                after[key] = after_shown[key]
    old_env, new_env = before_record.get("env", {}), after_record.get("env", {})
    for key in sorted(set(old_env) | set(new_env)):
        if old_env.get(key) == new_env.get(key):
            continue
        fields.append("env.%s" % key)
        if key in old_env:
            before.setdefault("env", {})[key] = schema.MASK
        if key in new_env:
            after.setdefault("env", {})[key] = CHANGED_MARK if key in old_env else schema.MASK
    return fields, before, after


def _plan_container(plan, definition, current, observed, image_updates, recreated):
    """Actions for one listed container (``current``: the managed containers by name). A replacement
    records its ``causes``: ``definition``, ``image`` (the tag names another image, or the registry has
    a newer one), ``image-maybe`` (the image is pulled again and may turn out the same),
    ``dependency``, ``drift``, ``dead``."""
    name = definition["name"]
    container = current.get(name)
    if name in observed.foreign:
        plan.errors[name] = "a container named %r already exists and is %s; it was left untouched" % (name, observed.foreign[name])
        return
    if container is None:
        plan.add("create", name, ["not present"], diff=({}, schema.to_format(schema.masked(definition))), definition=definition)
        recreated.add(name)
        return

    reasons, causes, before, after = [], set(), {}, {}
    fields = []
    if container["config_hash"] != schema.config_hash(definition):
        fields, before, after = definition_diff(container, definition)
        reasons.append("definition changed: " + ", ".join(fields))
        causes.add("definition")

    image = observed.images.get(definition["image"])
    if image is not None and image["id"] != container["image_id"]:
        reasons.append("image %s now names %s, the container runs %s" % (definition["image"], short_id(image["id"]), short_id(container["image_id"])))
        before["image_id"], after["image_id"] = container["image_id"], image["id"]
        causes.add("image")
    elif definition["image"] in image_updates:
        reason, certain = image_updates[definition["image"]]
        reasons.append(reason)
        before["image_id"], after["image_id"] = container["image_id"], "(the pulled image)"
        causes.add("image" if certain else "image-maybe")

    needs = schema.dependencies(definition)
    deps = sorted(needs & recreated)
    if deps:
        reasons.append("depends on %s, which is recreated" % ", ".join(repr(d) for d in deps))
        causes.add("dependency")
    # A dependency recreated by an earlier run that stopped before it replaced this container.
    moved = sorted(d for d, recorded in container["dependency_ids"].items()
                   if d in needs and d not in recreated and d in current and current[d]["id"] != recorded)
    if moved:
        reasons.append("depends on %s, recreated after this container was created" % ", ".join(repr(d) for d in moved))
        causes.add("dependency")

    in_place = []
    for field in dockerspec.drift_fields(definition):
        live, wanted = container["live"][field], definition[field]
        if live == wanted or field in fields:  # a changed definition explains it: replaced anyway
            continue
        shown_live = "never" if field == "restart" and live == "no" else live
        shown_wanted = "never" if field == "restart" and wanted == "no" else wanted
        reasons.append("%s is %r on the live container, the definition says %r" % (field, shown_live, shown_wanted))
        before.setdefault(field, shown_live)
        after.setdefault(field, shown_wanted)
        if dockerspec.repair_in_place(field, definition):
            in_place.append(field)
        else:
            causes.add("drift")

    status = container["status"]
    finished_job = definition["restart"] == "no" and status == "exited" and container["exit_code"] == 0
    start_reason = None
    if status == "dead":
        reasons.append("the container is dead")
        causes.add("dead")
    elif status in ("created", "exited") and not finished_job:
        detail = "exited with code %s" % container["exit_code"] if status == "exited" else "created, never started"
        start_reason = "not running (%s)" % detail
        reasons.append(start_reason)
        before.setdefault("status", status)
        after.setdefault("status", "running")

    if causes:
        plan.add("replace", name, reasons, diff=(before, after), definition=definition, target=container, causes=causes)
        if causes != {"image-maybe"}:
            recreated.add(name)
        return
    if in_place:
        plan.add("update", name, [r for r in reasons if r != start_reason], diff=(before, after),
                 definition=definition, target=container, fields=in_place)
    if start_reason:
        plan.add("start", name, [start_reason], diff=None if in_place else (before, after), definition=definition, target=container)
