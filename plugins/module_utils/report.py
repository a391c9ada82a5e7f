# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run tells its caller: ordered actions with reasons, per-container state, the diff.

Plain dicts and lists only (no docker-py types). Env values never appear: diffs carry masked values
and actions carry reasons, which name env keys but never their values.
"""

from __future__ import annotations

PUBLIC_KEYS = ("container", "action", "reasons", "image", "error")


def public_action(action):
    return {k: action[k] for k in PUBLIC_KEYS if action.get(k) is not None}


def diff_entries(actions):
    """One diff entry per container that changes, only the changed fields, sorted by container."""
    merged = {}
    why = {}
    for action in actions:
        if action.get("diff") is None or action["action"] in ("pull", "network"):
            continue
        before, after = merged.setdefault(action["container"], ({}, {}))
        before.update(action["diff"][0])
        after.update(action["diff"][1])
        why.setdefault(action["container"], []).append("%s: %s" % (action["action"], "; ".join(action["reasons"])))
    entries = []
    for name in sorted(merged):
        before, after = merged[name]
        entries.append({
            "before_header": "container %s" % name,
            "after_header": "container %s (%s)" % (name, "; ".join(why[name])),
            "before": before,
            "after": after,
        })
    return entries


def container_summary(container):
    return {
        "id": container["id"],
        "image": container["image"],
        "image_id": container["image_id"],
        "status": container["status"],
        "ports": container["ports"],
    }


def pending_updates(planned_actions, definitions, final=None, pulled=None):
    """Image updates the registry offers that the run did not bring to every container of the image:
    ``[{image, containers, reason}]``. ``final``/``pulled`` (containers by name after the run, image ref ->
    pulled image ID) are None in check mode, where every update found is pending."""
    users = {}
    for definition in definitions:
        users.setdefault(definition["image"], []).append(definition["name"])
    pending = []
    for action in planned_actions:
        if action["action"] != "pull" or not action.get("new_digest"):
            continue
        ref = action["image"]
        names = users.get(ref, [])
        if final is not None and ref in (pulled or {}) and all(
                final[name]["image_id"] == pulled[ref] for name in names if name in final):
            continue
        pending.append({"image": ref, "containers": names, "reason": action["reasons"][0]})
    return pending


def build_report(actions, listed, current, warnings, errors, diff=False, updates=()):
    """``listed``: the names the sources list, in order; ``current``: containers by name (the listed
    ones that exist are reported); ``updates``: pending image updates (pending_updates)."""
    report = {
        "changed": any(a.get("error") is None and a["action"] != "rollback" for a in actions),
        "actions": [public_action(a) for a in actions],
        "listed": list(listed),
        "containers": {name: container_summary(current[name]) for name in sorted(listed) if name in current},
        "warnings": list(warnings),
        "errors": dict(sorted(errors.items())),
        "pending_updates": list(updates),
    }
    if diff:
        report["diff"] = diff_entries([a for a in actions if a.get("error") is None])
    return report
