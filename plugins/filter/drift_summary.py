# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: drift_summary
short_description: One summary of a fleet's drift from the results of dockerup.bootstrap.containers
version_added: 0.1.0
description:
  - Takes, for each host, the registered result of a M(dockerup.bootstrap.containers) task (usually run in check
    mode, with C(ignore_errors) and C(ignore_unreachable) so that every host registers one) and returns one summary
    of the fleet - which hosts are in sync, which containers would change on which host and why, which image
    updates are available, and which hosts failed or could not be reached.
  - The playbook C(dockerup.bootstrap.drift) runs the module over a fleet of hosts and prints this summary.
author:
  - dockerup developers (@dockerup)
options:
  _input:
    description: A dict host name -> registered result of the containers task (a host without one counts as unreachable).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Summarise
  ansible.builtin.debug:
    msg: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'drift'))) | dockerup.bootstrap.drift_summary }}"
"""

RETURN = r"""
_value:
  description:
    - C(hosts) - host -> V({state, changes, updates, warnings, message}); C(state) is V(in_sync), V(drift),
      V(failed) or V(unreachable); C(changes) lists V({container, action, reasons}) (image pulls and networks
      are not listed, their containers are); C(updates) lists V({image, containers, reason}); C(warnings) lists
      the run's warnings (user-data that could not be fetched, refused registry credentials, ...), which
      leave the state as it is.
    - C(counts) - hosts by state, and C(updates), the number of image updates available over the fleet.
    - C(lines) - the summary as text, one line per host, container and warning, for a person.
  type: dict
"""

from ansible_collections.dockerup.bootstrap.plugins.module_utils.status import CONTAINER_ACTIONS


def _host_entry(result):
    entry = _state_entry(result)
    # The run's own list (the module's status), else what Ansible kept of module.warn.
    status = result.get("status") if isinstance(result, dict) else None
    warnings = (status.get("warnings") if isinstance(status, dict) else None) \
        or (result.get("warnings") if isinstance(result, dict) else None) or []
    entry["warnings"] = [str(warning) for warning in warnings]
    return entry


def _state_entry(result):
    if not isinstance(result, dict) or result.get("unreachable"):
        message = result.get("msg") if isinstance(result, dict) else None
        return {"state": "unreachable", "changes": [], "updates": [], "message": message or "no result (unreachable)"}
    changes = [
        {"container": action["container"], "action": action["action"], "reasons": list(action.get("reasons") or [])}
        for action in result.get("actions") or [] if action.get("action") in CONTAINER_ACTIONS
    ]
    updates = list(result.get("pending_updates") or [])
    if result.get("failed"):
        errors = result.get("errors") or {}
        message = result.get("msg") or "failed"
        return {"state": "failed", "changes": changes, "updates": updates, "message": message, "errors": dict(errors)}
    if result.get("skipped"):
        return {"state": "failed", "changes": [], "updates": [], "message": "skipped: " + str(result.get("skip_reason", ""))}
    return {"state": "drift" if changes or updates else "in_sync", "changes": changes, "updates": updates, "message": None}


def drift_summary(results):
    hosts = {host: _host_entry(result) for host, result in sorted((results or {}).items())}
    counts = {state: 0 for state in ("in_sync", "drift", "failed", "unreachable")}
    for entry in hosts.values():
        counts[entry["state"]] += 1
    counts["updates"] = sum(len(entry["updates"]) for entry in hosts.values())
    head = "dockerup drift: %d host(s): %d in sync, %d with changes pending, %d failed, %d unreachable; %d image update(s) available"
    lines = [head % (len(hosts), counts["in_sync"], counts["drift"], counts["failed"], counts["unreachable"], counts["updates"])]
    for host, entry in hosts.items():
        if entry["state"] == "in_sync":
            lines.append("%s: in sync" % host)
        elif entry["state"] in ("failed", "unreachable"):
            first = str(entry["message"]).splitlines()[0] if entry["message"] else entry["state"]
            if first.startswith("Task failed: "):  # ansible-core 2.19's prefix: the host's own message follows
                first = first[len("Task failed: "):]
            lines.append("%s: %s: %s" % (host, entry["state"].upper(), first))
        for change in entry["changes"]:
            lines.append("%s: %s %s: %s" % (host, change["action"], change["container"], "; ".join(change["reasons"])))
        for update in entry["updates"]:
            lines.append("%s: update available: %s (%s)" % (host, update.get("image"), ", ".join(update.get("containers") or [])))
        for warning in entry["warnings"]:
            lines.append("%s: warning: %s" % (host, (warning.splitlines() or [""])[0]))
    return {"hosts": hosts, "counts": counts, "lines": lines}


class FilterModule:
    def filters(self):
        return {"drift_summary": drift_summary}
