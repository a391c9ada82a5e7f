# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import schema
from ansible_collections.dockerup.bootstrap.plugins.module_utils.errors import DefinitionError

# The original tool's README examples, exactly as published: they must be accepted unchanged.
SEED_REGISTRY = {
    "type": "docker",
    "name": "registry",
    "image": "registry",
    "portMappings": [{"containerPort": "5000", "hostPort": "5000"}],
    "env": {
        "STANDALONE": "false",
        "SETTINGS_FLAVOR": "s3",
        "AWS_BUCKET": "my-docker-registry",
        "STORAGE_PATH": "/registry",
        "MIRROR_SOURCE": "https://registry-1.docker.io",
        "MIRROR_SOURCE_INDEX": "https://index.docker.io registry",
    },
}
SEED_USER_DATA = {
    "containers": [
        {
            "type": "docker",
            "name": "my-app",
            "image": "example/my-app",
            "portMappings": [{"containerPort": "8080", "hostPort": "8080"}],
        },
        {
            "type": "docker",
            "name": "logstash-forwarder",
            "image": "example/logstash-forwarder",
            "volumes": [{"containerPath": "/var/log/containers", "hostPath": "/var/log/ext", "mode": "ro"}],
        },
    ]
}
SEED_FIELDS = {
    "name": "mysql",
    "image": "barchart/java:latest",
    "cpu": 10,
    "memory": "2048m",
    "entrypoint": "/bin/bash",
    "command": "/usr/bin/nginx",
    "privileged": True,
    "network": "host",
    "volumes": [
        {"containerPath": "/data", "hostPath": "/mnt/data"},
        {"containerPath": "/storage"},
        {"containerPath": "/etc/passwd", "hostPath": "/etc/passwd", "mode": "ro"},
        {"from": "backup"},
    ],
    "restart": "on-failure",
    "update": {"pull": True, "eager": True},
}


def entries(*raws, origin="inline"):
    return [(raw, "%s[%d]" % (origin, i), "inline") for i, raw in enumerate(raws)]


def one(raw):
    return schema.validate(entries(raw))[0]


def problems(*raws):
    with pytest.raises(DefinitionError) as info:
        schema.validate(entries(*raws))
    return info.value.problems


@pytest.mark.parametrize("raw", [SEED_REGISTRY, SEED_FIELDS] + SEED_USER_DATA["containers"])
def test_original_examples_are_accepted(raw):
    assert schema.check_definition(raw) == []


def test_seed_registry_normalised():
    definition = one(SEED_REGISTRY)
    assert definition["ports"] == [{"container_port": 5000, "protocol": "tcp", "host_ip": "", "host_port": 5000}]
    assert definition["restart"] == "on-failure"
    assert definition["env"]["MIRROR_SOURCE_INDEX"] == "https://index.docker.io registry"


def test_seed_fields_normalised():
    definition = one(SEED_FIELDS)
    assert definition["cpu"] == 10
    assert definition["memory"] == 2048 * 1024 * 1024
    assert definition["entrypoint"] == ["/bin/bash"]
    assert definition["binds"] == [
        {"container_path": "/data", "host_path": "/mnt/data", "mode": "rw"},
        {"container_path": "/etc/passwd", "host_path": "/etc/passwd", "mode": "ro"},
    ]
    assert definition["anonymous_volumes"] == ["/storage"]
    assert definition["volumes_from"] == ["backup"]
    assert definition["eager"] is True


@pytest.mark.parametrize(
    "field, value, key, expected",
    [
        ("memory", "1g", "memory", 1024 ** 3),
        ("memory", "512k", "memory", 512 * 1024),
        ("memory", 1048576, "memory", 1048576),
        ("memory", "100", "memory", 100),
        ("command", "sh -c 'echo hi; sleep 1'", "command", ["sh", "-c", "echo hi; sleep 1"]),
        ("command", ["a", "b c"], "command", ["a", "b c"]),
        ("command", [], "command", []),
        ("cpu", "512", "cpu", 512),
        ("restart", "never", "restart", "no"),
        ("restart", "unless-stopped", "restart", "unless-stopped"),
        ("env", {"A": True, "B": 3, "C": 1.5, "D": "x", "E": False}, "env",
         {"A": "true", "B": "3", "C": "1.5", "D": "x", "E": "false"}),
        ("workingDir", "/srv", "working_dir", "/srv"),
        ("stopTimeout", 3, "stop_timeout", 3),
    ],
)
def test_normalisation(field, value, key, expected):
    assert one({"name": "web", "image": "img", field: value})[key] == expected


def test_ports_strings_and_ints_are_the_same():
    a = one({"name": "web", "image": "img", "portMappings": [{"containerPort": "80", "hostPort": "8080"}]})
    b = one({"name": "web", "image": "img", "portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]})
    assert schema.config_hash(a) == schema.config_hash(b)


@pytest.mark.parametrize(
    "explicit",
    [
        {"restart": "on-failure"},
        {"network": "bridge"},
        {"privileged": False},
        {"init": False},
        {"cpu": 0},
        {"env": {}},
        {"volumes": []},
        {"type": "docker"},
        {"update": {"pull": True}},
        {"update": {"eager": False, "rolling": False}},
    ],
)
def test_writing_a_default_explicitly_is_not_a_change(explicit):
    base = {"name": "web", "image": "img"}
    assert schema.config_hash(one(dict(base, **explicit))) == schema.config_hash(one(base))


def test_order_of_ports_volumes_env_does_not_matter():
    a = one({"name": "w1", "image": "i", "env": {"A": "1", "B": "2"},
             "portMappings": [{"containerPort": 1}, {"containerPort": 2}],
             "volumes": [{"containerPath": "/a"}, {"containerPath": "/b"}]})
    b = one({"name": "w1", "image": "i", "env": {"B": "2", "A": "1"},
             "portMappings": [{"containerPort": 2}, {"containerPort": 1}],
             "volumes": [{"containerPath": "/b"}, {"containerPath": "/a"}]})
    assert schema.config_hash(a) == schema.config_hash(b)


def test_removing_an_env_key_changes_the_hash():
    a = one({"name": "w1", "image": "i", "env": {"A": "1", "B": "2"}})
    b = one({"name": "w1", "image": "i", "env": {"A": "1"}})
    assert schema.config_hash(a) != schema.config_hash(b)


def test_fingerprint_holds_no_secret():
    definition = one({"name": "w1", "image": "i", "env": {"PASSWORD": "hunter2"}})
    assert "hunter2" not in schema.fingerprint(definition)


def test_unknown_key_did_you_mean():
    found = problems({"name": "web", "image": "img", "portMapping": [{"containerPort": 80}]})
    assert found == ["inline[0]: container 'web': portMapping: unknown key 'portMapping' (did you mean 'portMappings'?)"]


def test_unknown_nested_key_did_you_mean():
    found = problems({"name": "web", "image": "img", "portMappings": [{"containerport": 80}]})
    assert any("portMappings[0].containerport: unknown key 'containerport' (did you mean 'containerPort'?)" in p for p in found)


def test_every_error_is_listed_at_once():
    found = problems(
        {"name": "web", "image": "img", "memory": "lots", "restart": "sometimes"},
        {"name": "api", "image": "img", "portMappings": [{"containerPort": 99999}]},
        {"image": "img"},
    )
    text = "\n".join(found)
    assert "inline[0]: container 'web': memory:" in text
    assert "inline[0]: container 'web': restart:" in text
    assert "inline[1]: container 'api': portMappings[0].containerPort:" in text
    assert "inline[2]: container #3: (definition): 'name' is a required property" in text
    assert len(found) == 4


def test_env_values_are_never_shown_in_errors():
    found = problems({"name": "web", "image": "img", "env": {"TOKEN": {"secret": "hunter2"}}})
    assert found == ["inline[0]: container 'web': env.TOKEN: must be a string, number or boolean (value not shown)"]
    assert "hunter2" not in str(found)


def test_env_names_cannot_hold_an_equals_sign():
    assert problems({"name": "web", "image": "img", "env": {"": "x", "A=B": "y"}}) == [
        "inline[0]: container 'web': env: variable names must not be empty, contain '=' or end with a line break"]


def test_null_env_is_an_error():
    assert problems({"name": "web", "image": "img", "env": {"A": None}})


def test_name_rules_are_explained():
    found = problems({"name": "a", "image": "img"}, {"name": "-web", "image": "img"})
    assert all("Docker container name" in p for p in found) and len(found) == 2


def test_type_other_than_docker_is_an_error():
    assert "type" in problems({"name": "web", "image": "img", "type": "rkt"})[0]


def test_our_labels_cannot_be_set():
    found = problems({"name": "web", "image": "img", "labels": {"io.dockerup.scope": "x"}})
    assert "labels.io.dockerup.scope" in found[0]


def test_ports_with_host_network_are_an_error():
    found = problems({"name": "web", "image": "img", "network": "host", "portMappings": [{"containerPort": 80}]})
    assert "portMappings" in found[0] and "host" in found[0]


def test_duplicate_container_path_is_an_error():
    found = problems({"name": "web", "image": "img", "volumes": [{"containerPath": "/a"}, {"containerPath": "/a/", "hostPath": "/x"}]})
    assert "volumes[1].containerPath" in found[0]


def test_volume_from_and_path_mixed_is_an_error():
    found = problems({"name": "web", "image": "img", "volumes": [{"from": "x", "containerPath": "/a"}]})
    assert "volumes[0]" in found[0]


def test_relative_host_path_is_an_error():
    found = problems({"name": "web", "image": "img", "volumes": [{"containerPath": "/a", "hostPath": "data"}]})
    assert found and "volumes[0].hostPath" in found[0]


def test_unbalanced_quote_in_command_is_an_error():
    found = problems({"name": "web", "image": "img", "command": "sh -c 'oops"})
    assert "command: cannot be split like a shell" in found[0]


def test_duplicate_name_names_both_places():
    with pytest.raises(DefinitionError) as info:
        schema.validate([
            ({"name": "web", "image": "a"}, "/etc/dockerup/containers.d/web.json", "x"),
            ({"name": "web", "image": "b"}, "user-data: containers[0]", "user-data"),
        ])
    assert info.value.problems == [
        "user-data: containers[0]: container 'web' is also defined in /etc/dockerup/containers.d/web.json"
    ]


def test_cycle_is_an_error_naming_the_cycle():
    found = problems(
        {"name": "aa", "image": "i", "links": {"bb": "bb"}},
        {"name": "bb", "image": "i", "volumes": [{"from": "cc"}]},
        {"name": "cc", "image": "i", "network": "container:aa"},
    )
    assert len(found) == 1 and "dependency cycle: aa -> bb -> cc -> aa" in found[0]


def test_dependency_order_waves():
    defs = schema.validate(entries(
        {"name": "web", "image": "i", "links": {"api": "api"}},
        {"name": "api", "image": "i", "volumes": [{"from": "data"}]},
        {"name": "data", "image": "i"},
        {"name": "other", "image": "i", "links": {"external": "e"}},
    ))
    waves = [[d["name"] for d in wave] for wave in schema.dependency_order(defs)]
    assert waves == [["data", "other"], ["api"], ["web"]]


def test_to_format_round_trip_names():
    shown = schema.to_format(schema.masked(one(dict(SEED_REGISTRY, env={"A": "secret"}, workingDir="/w", restart="never"))))
    assert shown["portMappings"] == [{"containerPort": 5000, "protocol": "tcp", "hostPort": 5000}]
    assert shown["env"] == {"A": schema.MASK}
    assert shown["workingDir"] == "/w"
    assert shown["restart"] == "never"


def test_stack_fields_normalised():
    definition = schema.validate(entries(
        {"name": "app", "image": "img",
         "volumes": [{"name": "app_socket", "containerPath": "/run/app", "owner": "2000:2000", "permissions": "u=rwX,g=rX,o="}],
         "dependsOn": ["db", {"name": "cache", "condition": "healthy"}],
         "exec": [{"command": "sh -c 'echo hi'", "user": "app"}],
         "build": {"context": "/srv/app", "args": {"V": 1}},
         "healthcheck": {"test": ["wget", "-q", "http://127.0.0.1/"], "interval": "1m30s", "startPeriod": 2.5},
         "update": {"minReadySeconds": "500ms"}},
        {"name": "db", "image": "img"}, {"name": "cache", "image": "img"}))[0]
    assert definition["named_volumes"] == [
        {"name": "app_socket", "container_path": "/run/app", "mode": "rw", "owner": "2000:2000", "permissions": "u=rwX,g=rX,o="}]
    assert definition["depends_on"] == [{"name": "cache", "condition": "healthy"}, {"name": "db", "condition": "started"}]
    assert definition["exec"] == [{"command": ["sh", "-c", "echo hi"], "user": "app"}]
    assert definition["build"] == {"context": "/srv/app", "dockerfile": "Dockerfile", "args": {"V": "1"}}
    assert definition["healthcheck"] == {"test": ["CMD", "wget", "-q", "http://127.0.0.1/"], "interval": 90,
                                         "timeout": None, "retries": None, "start_period": 2.5}
    assert definition["min_ready_seconds"] == 0.5
    assert schema.dependencies(definition) == {"db", "cache"}


def test_depends_on_does_not_change_the_hash_but_exec_does():
    base = {"name": "app", "image": "img"}
    others = [{"name": "db", "image": "img"}]
    plain = schema.validate(entries(base, *others))[0]
    depends = schema.validate(entries(dict(base, dependsOn=["db"]), *others))[0]
    execs = schema.validate(entries(dict(base, exec=[{"command": "true"}]), *others))[0]
    assert schema.config_hash(plain) == schema.config_hash(depends)
    assert schema.config_hash(plain) != schema.config_hash(execs)


def test_undefined_dependency_names_it():
    found = problems({"name": "app", "image": "img", "dependsOn": ["db"]})
    assert found == ["inline[0]: container 'app': dependsOn: 'db' is not defined in any source"]


def test_depends_on_cycle_names_the_cycle():
    found = problems({"name": "app", "image": "img", "dependsOn": ["db"]}, {"name": "db", "image": "img", "dependsOn": ["app"]})
    assert len(found) == 1 and "dependency cycle: app -> db -> app" in found[0]


def test_eager_with_fixed_host_port_is_an_error():
    found = problems({"name": "web", "image": "img", "update": {"eager": True}, "portMappings": [{"containerPort": 80, "hostPort": 8080}]})
    assert "update.eager: cannot be combined with portMappings[0].hostPort 8080" in found[0]
    assert schema.check_definition({"name": "web", "image": "img", "update": {"eager": True}, "portMappings": [{"containerPort": 80}]}) == []


@pytest.mark.parametrize("volume, path", [
    ({"name": "x", "containerPath": "/a"}, "volumes[0].name"),
    ({"name": "data", "containerPath": "/a", "permissions": "all"}, "volumes[0].permissions"),
    ({"name": "data", "containerPath": "/a", "owner": "a b"}, "volumes[0].owner"),
    ({"name": "data", "containerPath": "/a", "hostPath": "/b"}, "volumes[0]"),
])
def test_bad_named_volumes(volume, path):
    found = problems({"name": "web", "image": "img", "volumes": [volume]})
    assert any(path in p for p in found), found


@pytest.mark.parametrize("value, expected", [("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (3, 3), ("1.5s", 1.5)])
def test_durations(value, expected):
    assert schema.seconds(value) == expected


def test_drain_seconds_is_a_policy_with_a_default():
    plain = one({"name": "app", "image": "img:1"})
    drained = one({"name": "app", "image": "img:1", "update": {"drainSeconds": "500ms"}})
    assert plain["drain_seconds"] == schema.DEFAULT_DRAIN_SECONDS == 2
    assert drained["drain_seconds"] == 0.5
    assert schema.config_hash(plain) == schema.config_hash(drained)  # how to update, not what runs
    assert problems({"name": "app", "image": "img:1", "update": {"drainSeconds": -1}}) == [
        "inline[0]: container 'app': update.drainSeconds: -1 is not valid: expected seconds, or a duration like \"1m30s\""]


def test_switch_is_a_policy_of_eager_updates():
    plain = one({"name": "app", "image": "img:1", "network": "front", "update": {"eager": True}})
    renamed = one({"name": "app", "image": "img:1", "network": "front", "update": {"eager": True, "switch": "rename"}})
    assert (plain["switch"], renamed["switch"]) == ("overlap", "rename")
    assert schema.config_hash(plain) == schema.config_hash(renamed)  # how to update, not what runs
    assert problems({"name": "app", "image": "img:1", "update": {"switch": "rename"}}) == [
        "inline[0]: container 'app': update.switch: says how an eager update moves the name; it needs update.eager: true"]
    found = problems({"name": "app", "image": "img:1", "update": {"eager": True, "switch": "swap"}})
    assert len(found) == 1 and found[0].startswith("inline[0]: container 'app': update.switch: 'swap' ") and "'rename'" in found[0], found


def test_aliases_need_a_user_defined_network_and_change_the_hash():
    plain = one({"name": "app-1", "image": "img:1", "network": "front"})
    aliased = one({"name": "app-1", "image": "img:1", "network": "front", "aliases": ["app", "app", "api"]})
    assert plain["aliases"] == [] and aliased["aliases"] == ["api", "app"]
    assert schema.config_hash(plain) != schema.config_hash(aliased)
    # Containers created before the field existed keep their hash: an empty list is not recorded.
    assert '"aliases"' not in schema.fingerprint(plain)
    assert problems({"name": "app-1", "image": "img:1", "aliases": ["app"]}) == [
        "inline[0]: container 'app-1': aliases: network aliases need a user-defined network (network is 'bridge')"]
    found = problems({"name": "app-1", "image": "img:1", "network": "front", "aliases": ["-bad"]})
    assert len(found) == 1
    assert found == ["inline[0]: container 'app-1': aliases[0]: '-bad' does not match '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$'"]


@pytest.mark.parametrize("field, raw", [
    ("name", {"name": "web\n"}),
    ("image", {"image": "img:1\n"}),
    ("aliases[0]", {"network": "front", "aliases": ["app\n"]}),
    ("volumes[0].name", {"volumes": [{"name": "data\n", "containerPath": "/data"}]}),
    ("env", {"env": {"A\n": "1"}}),
    ("portMappings[0].hostPort", {"portMappings": [{"containerPort": 80, "hostPort": "8080\n"}]}),
], ids=["name", "image", "alias", "volume-name", "env-name", "host-port"])
def test_a_final_line_break_never_passes_a_pattern(field, raw):
    """Python's "$" matches before a final line break: every pattern that ends with "$" rejects one."""
    found = problems(dict({"name": "web", "image": "img:1"}, **raw))
    assert len(found) == 1 and found[0].startswith("inline[0]: container %r: %s: " % (raw.get("name", "web"), field)), found
