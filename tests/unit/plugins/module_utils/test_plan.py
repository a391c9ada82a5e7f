# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import schema
from ansible_collections.dockerup.bootstrap.plugins.module_utils.observe import Observed
from ansible_collections.dockerup.bootstrap.plugins.module_utils.plan import plan_actions

IMAGE = "sha256:" + "a" * 64
NEWER = "sha256:" + "b" * 64


def defs(*raws):
    return schema.validate([(raw, "inline[%d]" % i, "inline") for i, raw in enumerate(raws)])


def running(definition, **changes):
    """An observed container exactly as dockerup would have created it from ``definition``."""
    container = {
        "id": "id-" + definition["name"],
        "name": definition["name"],
        "image_id": IMAGE,
        "image": definition["image"],
        "status": "running",
        "exit_code": 0,
        "config_hash": schema.config_hash(definition),
        "source": definition["source"],
        "definition": schema.fingerprint(definition),
        "depends_on": [d["name"] for d in definition["depends_on"]],
        "dependency_ids": {},
        "live": {f: definition[f] for f in ("restart", "cpu", "memory", "privileged", "init")},
        "ports": {},
        "volumes": {},
    }
    live = changes.pop("live", {})
    container.update(changes)
    container["live"].update(live)
    return container


def observed(definitions, containers=(), images=None, registry=None, foreign=None):
    snapshot = Observed()
    snapshot.containers = list(containers)
    snapshot.images = images if images is not None else {d["image"]: {"id": IMAGE, "digests": []} for d in definitions}
    snapshot.registry = registry or {}
    snapshot.foreign = foreign or {}
    return snapshot


def summary(plan):
    return [(a["action"], a["container"]) for a in plan.actions]


WEB = {"name": "web", "image": "img:1", "env": {"A": "1", "SECRET": "hunter2"}, "portMappings": [{"containerPort": 80}]}
API = {"name": "api", "image": "img:1"}


def test_converge_from_nothing_creates_all():
    desired = defs(WEB, API)
    plan = plan_actions(desired, observed(desired))
    assert summary(plan) == [("create", "web"), ("create", "api")]
    before, after = plan.actions[0]["diff"]
    assert before == {} and after["env"] == {"A": "********", "SECRET": "********"}


def test_no_op_when_everything_holds():
    desired = defs(WEB, API)
    plan = plan_actions(desired, observed(desired, [running(d) for d in desired]))
    assert plan.actions == [] and plan.errors == {} and plan.warnings == []


def test_random_host_port_is_not_drift():
    desired = defs(WEB)
    container = running(desired[0], ports={"80/tcp": [{"host_ip": "0.0.0.0", "host_port": 32768}]})
    assert plan_actions(desired, observed(desired, [container])).actions == []


def test_one_env_change_replaces_only_that_container_with_a_masked_diff():
    old = defs(WEB, API)
    new = defs(dict(WEB, env={"A": "2", "SECRET": "hunter2", "B": "x"}), API)
    plan = plan_actions(new, observed(new, [running(d) for d in old]))
    assert summary(plan) == [("replace", "web")]
    action = plan.actions[0]
    assert action["reasons"] == ["definition changed: env.A, env.B"]
    assert action["diff"] == ({"env": {"A": "********"}}, {"env": {"A": "******** (changed)", "B": "********"}})
    assert "hunter2" not in json.dumps([a["reasons"] for a in plan.actions]) + json.dumps(action["diff"])


def test_removed_env_key_and_port_are_changes():
    old = defs(WEB)
    new = defs(dict(WEB, env={"A": "1"}, portMappings=[]))
    action = plan_actions(new, observed(new, [running(d) for d in old])).actions[0]
    assert action["action"] == "replace"
    assert action["reasons"] == ["definition changed: portMappings, env.SECRET"]
    assert action["diff"][0]["portMappings"] == [{"containerPort": 80, "protocol": "tcp"}]
    assert action["diff"][1]["portMappings"] == []


def test_unlisted_container_is_removed_unless_prune_is_off():
    old = defs(WEB, API)
    new = defs(API)
    containers = [running(d) for d in old]
    assert summary(plan_actions(new, observed(new, containers))) == [("remove", "web")]
    assert plan_actions(new, observed(new, containers), prune=False).actions == []


def test_containers_of_an_unread_source_are_never_pruned():
    old = schema.validate([(WEB, "user-data: containers[0]", "user-data"), (API, "inline[0]", "inline")])
    new = defs(API)
    plan = plan_actions(new, observed(new, [running(d) for d in old]), unread={"user-data"})
    assert plan.actions == []
    assert "could not be read" in plan.warnings[0]


def test_stopped_container_is_started():
    desired = defs(API)
    plan = plan_actions(desired, observed(desired, [running(desired[0], status="exited", exit_code=137)]))
    assert summary(plan) == [("start", "api")]
    assert plan.actions[0]["reasons"] == ["not running (exited with code 137)"]


def test_finished_one_shot_job_is_left_alone():
    desired = defs(dict(API, restart="never"))
    done = running(desired[0], status="exited", exit_code=0)
    assert plan_actions(desired, observed(desired, [done])).actions == []
    failed = running(desired[0], status="exited", exit_code=1)
    assert summary(plan_actions(desired, observed(desired, [failed]))) == [("start", "api")]


def test_restart_drift_is_repaired_in_place():
    desired = defs(API)
    plan = plan_actions(desired, observed(desired, [running(desired[0], live={"restart": "no"})]))
    assert summary(plan) == [("update", "api")]
    assert plan.actions[0]["fields"] == ["restart"]
    assert plan.actions[0]["diff"] == ({"restart": "never"}, {"restart": "on-failure"})


def test_memory_drift_replaces():
    desired = defs(dict(API, memory="64m"))
    plan = plan_actions(desired, observed(desired, [running(desired[0], live={"memory": 128 * 1024 * 1024})]))
    assert summary(plan) == [("replace", "api")]


def test_cpu_drift_back_to_an_explicit_default_replaces():
    desired = defs(dict(API, cpu=0))
    plan = plan_actions(desired, observed(desired, [running(desired[0], live={"cpu": 512})]))
    assert summary(plan) == [("replace", "api")]


@pytest.mark.parametrize("field, live", [("cpu", 100), ("memory", 100 * 1024 * 1024), ("privileged", True), ("init", True)])
def test_a_field_the_definition_leaves_out_is_never_compared(field, live):
    desired = defs(API)
    assert field not in API
    plan = plan_actions(desired, observed(desired, [running(desired[0], live={field: live})]))
    assert summary(plan) == []


@pytest.mark.parametrize("field, value, live", [
    ("cpu", 0, 0), ("memory", 0, 0), ("privileged", False, False), ("init", False, False), ("restart", "on-failure", "on-failure"),
])
def test_writing_a_default_explicitly_is_no_change(field, value, live):
    written = defs(dict(API, **{field: value}))
    left_out = defs(API)
    assert schema.config_hash(written[0]) == schema.config_hash(left_out[0])
    live_values = {field: "on-failure" if field == "restart" else live}
    # created from the definition that left the field out, then the default written in the file
    plan = plan_actions(written, observed(written, [running(left_out[0], live=live_values)]))
    assert summary(plan) == []


def test_restart_left_out_is_compared_with_its_documented_default():
    desired = defs(API)
    plan = plan_actions(desired, observed(desired, [running(desired[0], live={"restart": "no"})]))
    assert summary(plan) == [("update", "api")]
    assert "restart is 'never' on the live container, the definition says 'on-failure'" in plan.actions[0]["reasons"]


def test_tag_naming_another_image_replaces():
    desired = defs(API)
    snapshot = observed(desired, [running(desired[0])], images={"img:1": {"id": NEWER, "digests": []}})
    plan = plan_actions(desired, snapshot)
    assert summary(plan) == [("replace", "api")]
    assert "now names bbbbbbbbbbbb, the container runs aaaaaaaaaaaa" in plan.actions[0]["reasons"][0]


def test_missing_image_is_pulled_and_may_replace():
    desired = defs(API)
    plan = plan_actions(desired, observed(desired, [running(desired[0])], images={"img:1": None}))
    assert summary(plan) == [("pull", "api"), ("replace", "api")]
    assert plan.actions[1]["causes"] == {"image-maybe"}


def test_registry_update_available_pulls_and_replaces():
    desired = defs(API)
    images = {"img:1": {"id": IMAGE, "digests": ["reg/img@sha256:old"]}}
    plan = plan_actions(desired, observed(desired, [running(desired[0])], images=images, registry={"img:1": {"digest": "sha256:new"}}))
    assert summary(plan) == [("pull", "api"), ("replace", "api")]
    assert plan.actions[0]["reasons"] == ["image update available for img:1: sha256:old -> sha256:new"]
    assert plan.actions[1]["causes"] == {"image"}


def test_registry_digest_unchanged_is_a_no_op():
    desired = defs(API)
    images = {"img:1": {"id": IMAGE, "digests": ["reg/img@sha256:same"]}}
    plan = plan_actions(desired, observed(desired, [running(desired[0])], images=images, registry={"img:1": {"digest": "sha256:same"}}))
    assert plan.actions == []


def test_registry_unreachable_warns_and_keeps_container():
    desired = defs(API)
    images = {"img:1": {"id": IMAGE, "digests": ["reg/img@sha256:old"]}}
    plan = plan_actions(desired, observed(desired, [running(desired[0])], images=images, registry={"img:1": {"error": "connection refused"}}))
    assert plan.actions == []
    assert "could not check img:1 for updates (connection refused)" in plan.warnings[0]


def test_unmanaged_name_clash_is_an_error_for_that_container_only():
    desired = defs(WEB, API)
    plan = plan_actions(desired, observed(desired, foreign={"web": "not managed by dockerup"}))
    assert summary(plan) == [("create", "api")]
    assert "already exists and is not managed by dockerup" in plan.errors["web"]


def test_dependents_of_a_replaced_container_are_replaced_after_it():
    old = defs({"name": "data", "image": "img:1"}, {"name": "app", "image": "img:1", "volumes": [{"from": "data"}]},
               {"name": "front", "image": "img:1", "links": {"app": "app"}}, {"name": "solo", "image": "img:1"})
    new = defs({"name": "data", "image": "img:1", "env": {"V": "2"}}, {"name": "app", "image": "img:1", "volumes": [{"from": "data"}]},
               {"name": "front", "image": "img:1", "links": {"app": "app"}}, {"name": "solo", "image": "img:1"})
    plan = plan_actions(new, observed(new, [running(d) for d in old]))
    assert summary(plan) == [("replace", "data"), ("replace", "app"), ("replace", "front")]
    assert plan.actions[1]["reasons"] == ["depends on 'data', which is recreated"]


def test_a_dependent_left_behind_by_an_interrupted_run_is_replaced():
    desired = defs({"name": "db", "image": "img:1"}, {"name": "app", "image": "img:1", "dependsOn": ["db"]},
                   {"name": "cache", "image": "img:1", "links": {"db": "db"}})
    db, app, cache = (running(d) for d in desired)
    app["dependency_ids"] = {"db": "id-of-the-db-replaced-since"}  # created before db was last recreated
    cache["dependency_ids"] = {"db": db["id"]}  # created after: in step
    plan = plan_actions(desired, observed(desired, [db, app, cache]))
    assert summary(plan) == [("replace", "app")]
    assert plan.actions[0]["reasons"] == ["depends on 'db', recreated after this container was created"]
    assert plan.actions[0]["causes"] == {"dependency"}


def test_missing_network_is_created_first():
    desired = defs(dict(API, network="backend"))
    plan = plan_actions(desired, observed(desired))
    assert summary(plan) == [("network", "api"), ("create", "api")]
    assert plan.actions[0]["network"] == "backend"


def test_interrupted_replacement_is_recovered():
    desired = defs(API)
    aside = running(desired[0], name="api_dockerup_old_123", status="exited")
    plan = plan_actions(desired, observed(desired, [aside]))
    assert summary(plan) == [("recover", "api"), ("start", "api")]


def test_leftover_of_a_finished_replacement_is_removed():
    desired = defs(API)
    aside = running(desired[0], id="old", name="api_dockerup_old_123", status="exited")
    plan = plan_actions(desired, observed(desired, [aside, running(desired[0])]))
    assert summary(plan) == [("remove", "api_dockerup_old_123")]
    assert "interrupted replacement" in plan.actions[0]["reasons"][0]


def test_with_prune_off_cleanup_still_removes_exited_unlisted_containers():
    old = defs(WEB, API)
    new = defs(API)
    exited = running(old[0], status="exited", exit_code=0)
    plan = plan_actions(new, observed(new, [exited, running(old[1])]), prune=False)
    assert summary(plan) == [("remove", "web")]
    assert plan.actions[0]["reasons"] == ["exited and no longer listed (cleanup)"]
    assert plan_actions(new, observed(new, [exited, running(old[1])]), prune=False, cleanup=False).actions == []


def test_killed_eager_replacement_recovers_the_running_new_container():
    desired = defs(API)
    old = running(desired[0], id="old", name="api_dockerup_old_123", status="exited")
    new = running(desired[0], id="new", name="api_dockerup_new_123")
    plan = plan_actions(desired, observed(desired, [old, new]))
    assert summary(plan) == [("recover", "api"), ("remove", "api_dockerup_old_123")]
    assert plan.actions[0]["target"]["id"] == "new"


def test_build_when_missing_or_context_changed_never_when_untouched():
    desired = defs({"name": "app", "image": "app:local", "build": {"context": "/srv/app"}})
    missing = observed(desired, images={"app:local": None})
    missing.contexts = {"app:local": "h1"}
    assert summary(plan_actions(desired, missing)) == [("build", "app"), ("create", "app")]
    same = observed(desired, [running(desired[0])], images={"app:local": {"id": IMAGE, "digests": [], "context_hash": "h1"}})
    same.contexts = {"app:local": "h1"}
    assert plan_actions(desired, same).actions == []
    changed = observed(desired, [running(desired[0])], images={"app:local": {"id": IMAGE, "digests": [], "context_hash": "h0"}})
    changed.contexts = {"app:local": "h1"}
    plan = plan_actions(desired, changed)
    assert summary(plan) == [("build", "app"), ("replace", "app")]
    assert plan.actions[1]["causes"] == {"image"}


def test_missing_named_volume_is_created_once_for_all_users():
    volume = {"name": "shared", "containerPath": "/data", "owner": "2000:2000"}
    desired = defs({"name": "app", "image": "img:1", "volumes": [volume]}, {"name": "web", "image": "img:1", "volumes": [dict(volume, mode="ro")]})
    plan = plan_actions(desired, observed(desired))
    assert summary(plan) == [("volume", "app, web"), ("create", "app"), ("create", "web")]
    assert plan.actions[0]["volume"] == "shared" and "owner 2000:2000" in plan.actions[0]["reasons"][0]


def test_volumes_are_removed_only_when_asked_and_unused():
    desired = defs(API)
    snapshot = observed(desired, [running(desired[0])])
    snapshot.volumes = {"old": {"ours": True, "in_use": False}, "busy": {"ours": True, "in_use": True}, "theirs": {"ours": False, "in_use": False}}
    assert plan_actions(desired, snapshot).actions == []
    assert summary(plan_actions(desired, snapshot, prune_volumes=True)) == [("remove_volume", "old")]


def test_unlisted_containers_are_removed_dependents_first():
    old = defs({"name": "db", "image": "i"}, {"name": "app", "image": "i", "dependsOn": ["db"]},
               {"name": "front", "image": "i", "links": {"app": "app"}})
    plan = plan_actions([], observed([], [running(d) for d in old]))
    assert summary(plan) == [("remove", "front"), ("remove", "app"), ("remove", "db")]


def test_killed_switch_prefers_the_running_new_container_over_the_running_old_one():
    # Killed after the old one left the name (still running, set aside) while the ready new one runs
    # under its temporary name: the new one takes the name, with the definition (for its aliases).
    desired = defs(dict(API, network="backend", update={"eager": True}))
    old = running(desired[0], id="old", name="api_dockerup_old_123")
    new = running(desired[0], id="new", name="api_dockerup_new_123")
    snapshot = observed(desired, [old, new])
    snapshot.networks = {"backend"}
    plan = plan_actions(desired, snapshot)
    assert summary(plan) == [("recover", "api"), ("remove", "api_dockerup_old_123")]
    assert plan.actions[0]["target"]["id"] == "new"
    assert plan.actions[0]["definition"]["name"] == "api"


def test_killed_switch_before_the_name_moved_removes_the_new_container():
    desired = defs(dict(API, network="backend", update={"eager": True}))
    new = running(desired[0], id="new", name="api_dockerup_new_123")
    snapshot = observed(desired, [running(desired[0]), new])
    snapshot.networks = {"backend"}
    plan = plan_actions(desired, snapshot)
    assert summary(plan) == [("remove", "api_dockerup_new_123")]
