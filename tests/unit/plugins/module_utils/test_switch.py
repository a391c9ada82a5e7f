# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The order of engine calls in a replacement's switch (apply.py ``_replace``/``_switch``), against a
recording stand-in of docker-py's APIClient. The real engine and nginx under load are in the
integration feature zero_downtime; this pins which step comes before which."""

from __future__ import annotations

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import apply, schema
from ansible_collections.dockerup.bootstrap.plugins.module_utils.observe import Observed

NETWORK = "front"


class RecordingApi:
    """Containers by id: {"name", "status", "aliases"} (Docker lists the short id among the aliases);
    every mutating call is recorded."""

    def __init__(self, old_aliases=(), new_status="running"):
        self.calls = []
        self.new_status = new_status
        self.containers = {"old": {"name": "app", "status": "running", "aliases": ["old"] + list(old_aliases)}}

    # what create_args needs
    def create_host_config(self, **kwargs):
        return kwargs

    def create_networking_config(self, config):
        return config

    def create_endpoint_config(self, **kwargs):
        return kwargs

    def inspect_image(self, _ref):
        return {"Id": "sha256:img", "Config": {}}

    def create_container(self, **kwargs):
        self.calls.append(("create", kwargs["name"], "networking_config" in kwargs))
        self.containers["new"] = {"name": kwargs["name"], "status": "created", "aliases": ["new"]}
        return {"Id": "new"}

    def start(self, cid):
        self.calls.append(("start", cid))
        self.containers[cid]["status"] = self.new_status if cid == "new" else "running"

    def inspect_container(self, cid):
        c = self.containers[cid]
        return {"Id": cid, "Image": "sha256:img", "State": {"Status": c["status"], "ExitCode": c.get("exit_code", 0)},
                "RestartCount": c.get("restarts", 0), "NetworkSettings": {"Networks": {NETWORK: {"Aliases": c["aliases"]}}}}

    def logs(self, _cid, tail=None):
        return b""

    def rename(self, cid, name):
        self.calls.append(("rename", cid, name))
        self.containers[cid]["name"] = name

    def stop(self, cid, timeout=None):
        self.calls.append(("stop", cid))
        self.containers[cid]["status"] = "exited"

    def remove_container(self, cid, v=False, force=False):
        self.calls.append(("remove", cid))

    def disconnect_container_from_network(self, cid, network):
        self.calls.append(("disconnect", cid, network))

    def connect_container_to_network(self, cid, network, aliases=None, links=None):
        self.calls.append(("connect", cid, network, tuple(aliases or ())))
        self.containers[cid]["aliases"] = [cid[:12]] + list(aliases or ())


def replace(api, monkeypatch, **fields):
    raw = dict({"name": "app", "image": "img:1", "network": NETWORK}, **fields)
    raw["update"] = dict({"minReadySeconds": 0, "drainSeconds": 2}, **fields.get("update", {}))
    definition = schema.validate([(raw, "inline[0]", "inline")])[0]
    target = {"id": "old", "name": "app", "status": "running", "image_id": "sha256:img", "volumes": {}, "stop_timeout": None}
    monkeypatch.setattr(apply.time, "sleep", lambda seconds: api.calls.append(("sleep", seconds)))
    applier = apply.Applier(api, Observed(), "default", 60)
    action = {"action": "replace", "container": "app", "reasons": [], "diff": None, "definition": definition,
              "target": target, "causes": {"definition"}}
    return applier.outcome, applier._act(action)  # pylint: disable=protected-access


def test_eager_old_without_alias_leaves_by_rename_and_drains_twice(monkeypatch):
    api = RecordingApi()
    replace(api, monkeypatch, update={"eager": True})
    assert api.calls == [
        ("create", "app_dockerup_new_old", False),  # no alias before it is ready
        ("start", "new"),
        ("disconnect", "new", NETWORK), ("connect", "new", NETWORK, ("app",)),  # joins the name
        ("sleep", 2),  # the proxy learns it
        ("rename", "old", "app_dockerup_old_old"),  # the old one leaves the name, still serving
        ("sleep", 2),  # the proxy drops it, requests in flight end
        ("stop", "old"),
        ("rename", "new", "app"),
        ("remove", "old"),
    ]


def test_eager_old_with_an_alias_leaves_by_its_graceful_stop(monkeypatch):
    api = RecordingApi(old_aliases=["app"])
    replace(api, monkeypatch, update={"eager": True})
    assert api.calls == [
        ("create", "app_dockerup_new_old", False),
        ("start", "new"),
        ("disconnect", "new", NETWORK), ("connect", "new", NETWORK, ("app",)),
        ("sleep", 2),
        ("rename", "old", "app_dockerup_old_old"),
        ("stop", "old"),  # an alias leaves DNS only with the container: no second drain
        ("rename", "new", "app"),
        ("remove", "old"),
    ]


def test_rename_switch_moves_the_name_by_two_renames_then_drains(monkeypatch):
    """update.switch "rename": the new one never holds the name as an alias, and the old one is renamed
    aside while it still serves. The calls are the same when an earlier overlap switch had made the name
    an alias of the old one (that once, it leaves the name only when it stops: README)."""
    for old_aliases in ([], ["app"]):
        api = RecordingApi(old_aliases=old_aliases)
        replace(api, monkeypatch, update={"eager": True, "switch": "rename"})
        assert api.calls == [
            ("create", "app_dockerup_new_old", False),
            ("start", "new"),
            ("rename", "old", "app_dockerup_old_old"),  # the name is free: the proxy's next connection fails...
            ("rename", "new", "app"),  # ...and its retry reaches the new one
            ("sleep", 2),  # the old one finishes the requests in flight
            ("stop", "old"),
            ("remove", "old"),
        ]
        assert api.containers["new"]["aliases"] == ["new"]


def test_rename_switch_of_a_replica_joins_its_aliases_first(monkeypatch):
    api = RecordingApi(old_aliases=["pool"])
    replace(api, monkeypatch, aliases=["pool"], update={"eager": True, "rolling": True, "switch": "rename"})
    assert api.calls == [
        ("create", "app_dockerup_new_old", False),
        ("start", "new"),
        ("disconnect", "new", NETWORK), ("connect", "new", NETWORK, ("pool",)),  # not the name
        ("rename", "old", "app_dockerup_old_old"),
        ("rename", "new", "app"),
        ("sleep", 2),
        ("stop", "old"),
        ("remove", "old"),
    ]


def test_recovered_new_container_of_a_rename_switch_gets_no_alias_of_its_name():
    api = RecordingApi()
    recover(api, "app_dockerup_new_old", live_aliases=["new"], update={"eager": True, "switch": "rename"})
    assert api.calls == [("rename", "new", "app")]


def test_eager_switch_done_stands_when_the_old_ones_stop_fails(monkeypatch):
    """The new container serves under the name already: a failed stop of the old one undoes nothing."""
    api = RecordingApi()

    def stop(cid, timeout=None):
        api.calls.append(("stop", cid))
        raise OSError("the engine did not answer")

    api.stop = stop
    replace(api, monkeypatch, update={"eager": True})
    assert api.calls[-3:] == [("stop", "old"), ("rename", "new", "app"), ("remove", "old")]
    assert api.containers["new"]["name"] == "app"


def test_eager_never_ready_is_removed_before_it_joins_the_name(monkeypatch):
    api = RecordingApi(new_status="exited")
    with pytest.raises(apply.NotReady):
        replace(api, monkeypatch, update={"eager": True}, restart="always")
    # The whole call list: no connect, rename or stop of either container.
    assert api.calls == [("create", "app_dockerup_new_old", False), ("start", "new"), ("remove", "new"), ("start", "old")]


def test_a_new_container_its_restart_policy_brought_back_is_not_ready(monkeypatch):
    """Seen running at every look, but restarted in between (a busy engine, a quick crash): never ready."""
    api = RecordingApi()
    original_start = api.start

    def start(cid):
        original_start(cid)
        if cid == "new":
            api.containers["new"].update(restarts=1, exit_code=3)

    api.start = start
    with pytest.raises(apply.NotReady, match=r"exited and its restart policy restarted it \(1 time\(s\)\)"):
        replace(api, monkeypatch, update={"eager": True}, restart="always")
    assert api.calls == [("create", "app_dockerup_new_old", False), ("start", "new"), ("remove", "new"), ("start", "old")]


def test_replica_joins_its_aliases_once_ready_then_drains(monkeypatch):
    api = RecordingApi(old_aliases=["pool"])
    replace(api, monkeypatch, aliases=["pool"], update={"rolling": True})
    assert api.calls == [
        ("stop", "old"),
        ("rename", "old", "app_dockerup_old_old"),
        ("create", "app_dockerup_new_old", False),
        ("start", "new"),
        ("disconnect", "new", NETWORK), ("connect", "new", NETWORK, ("pool",)),
        ("rename", "new", "app"),
        ("sleep", 2),  # proxies know it before the next rolling replacement stops another replica
        ("remove", "old"),
    ]


def test_default_replacement_without_aliases_is_unchanged(monkeypatch):
    api = RecordingApi()
    replace(api, monkeypatch)
    assert api.calls == [("stop", "old"), ("rename", "old", "app_dockerup_old_old"), ("create", "app", False),
                         ("start", "new"), ("remove", "old")]


def recover(api, target_name, status="running", live_aliases=("new",), **fields):
    """``_recover`` of container "new", left as ``target_name`` with ``live_aliases`` on the network."""
    raw = dict({"name": "app", "image": "img:1", "network": NETWORK}, **fields)
    definition = schema.validate([(raw, "inline[0]", "inline")])[0]
    api.containers["new"] = {"name": target_name, "status": status, "aliases": list(live_aliases)}
    applier = apply.Applier(api, Observed(), "default", 60)
    applier._recover({"action": "recover", "container": "app", "definition": definition,  # pylint: disable=protected-access
                      "target": {"id": "new", "name": target_name, "status": status}})


def test_recovered_new_container_gets_the_aliases_it_was_about_to_get():
    api = RecordingApi()
    recover(api, "app_dockerup_new_old", live_aliases=["new"], aliases=["pool"], update={"rolling": True})
    assert api.calls == [("disconnect", "new", NETWORK), ("connect", "new", NETWORK, ("pool",)), ("rename", "new", "app")]


def test_recovered_new_container_that_has_its_aliases_is_only_renamed():
    api = RecordingApi()
    recover(api, "app_dockerup_new_old", live_aliases=["new", "app"], update={"eager": True})
    assert api.calls == [("rename", "new", "app")]


def test_recovered_old_container_is_only_renamed():
    api = RecordingApi()
    recover(api, "app_dockerup_old_old", status="exited", live_aliases=["old"], aliases=["pool"])
    assert api.calls == [("rename", "new", "app")]
