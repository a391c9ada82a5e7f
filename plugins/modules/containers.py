#!/usr/bin/python
# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: containers
short_description: Reconcile a whole Docker host with container definitions in one task
version_added: 0.1.0
description:
  - Makes the Docker engine at O(docker_host) run exactly the containers defined for it, from an inline
    list (O(containers)), a directory of JSON files on the target (O(confdir)), and EC2 user-data
    (O(user_data)), all in the format of the original C(dockerup) bootstrapper.
  - Creates what is missing, replaces what changed or whose image tag now names another image, repairs
    drift (for example C(docker update --restart no)), starts what is stopped, and removes managed
    containers that are no longer listed (O(prune)).
  - Every source is read and validated with a JSON Schema before anything changes. Any problem (bad JSON,
    an unknown key, a duplicate name, a dependency cycle) fails the task with the file, container and
    JSON path, and changes nothing.
  - Containers are identified by name and by the labels C(io.dockerup.managed), C(io.dockerup.scope),
    C(io.dockerup.config-hash), C(io.dockerup.source) and C(io.dockerup.definition). Containers without
    these labels are never touched; a name clash with one is an error for that container only.
  - "Container format, one object per container (a definition file holds one object or
    V({\"containers\": [...]})): C(type) (V(docker)), C(name), C(image), C(cpu) (CPU shares),
    C(memory) (bytes, or V(512m), V(1g)), C(entrypoint) and C(command) (a string split like a shell, or a list),
    C(privileged), C(network) (V(bridge), V(none), V(host), V(container:<name>), or a user-defined
    network, created with our label when missing), C(volumes) (list of V({containerPath, hostPath?, mode?})
    or V({from: <container>})), C(portMappings) (list of V({containerPort, hostPort?, protocol?, hostIp?});
    no C(hostPort) means a random host port, which is not drift), C(env) (object; scalars become text),
    C(restart) (V(always), V(on-failure) (the default), V(unless-stopped), V(never)), C(links)
    (V({\"<container>\": \"<alias>\"})), C(update) (V({pull, eager, switch, rolling, minReadySeconds, drainSeconds})), C(healthcheck)
    (V({test, interval?, timeout?, retries?, startPeriod?}); C(test) a shell command string or an exec list),
    C(labels), C(user), C(workingDir), C(hostname), C(init), C(stopSignal), C(stopTimeout) (seconds), C(aliases)
    (network aliases on the definition's user-defined network: several definitions sharing one are replicas).
    Durations are seconds, or strings such as V(1m30s) or V(500ms)."
  - "Stack fields: C(dependsOn) (list of names or V({name, condition: started|healthy})), named volumes in
    C(volumes) (V({name, containerPath, mode?, owner?, permissions?}): created with our label when missing,
    owner and permissions applied once on creation, shared by every definition that mounts the name),
    C(exec) (list of V({command, user?}) run in order after each start), and C(build)
    (V({context, dockerfile?, args?}): the image is built locally when missing or when the context's
    content changed)."
  - Containers start in dependency order (C(dependsOn), C(links), C(volumes) C(from), C(network)
    V(container:<name>)), waiting for V(healthy) where C(dependsOn) asks; independent containers are created
    concurrently. When a container is recreated, the containers that depend on it are recreated after it
    (each records its dependencies' container IDs, so a run stopped in between finishes this on the next run).
    Unlisted containers are removed dependents first. A C(dependsOn) name that is not defined, and a
    dependency cycle, are validation errors.
  - A replacement keeps the old container, stopped and renamed, until the new one is ready, that is
    C(healthy) when it has a health check (from its image or its C(healthcheck) field), else still running
    after C(update.minReadySeconds) (default 2). If the new one exits, turns unhealthy, or is not ready
    within O(ready_timeout), it is removed and the old one restored and started (rollback); the task fails
    for that container with the reason and the new container's last log lines. A run killed half-way is
    finished by the next run.
  - With C(update.eager), the replacement starts under a temporary name while the old container still
    runs, and takes over only once ready (no downtime; such a container cannot publish a fixed C(hostPort)).
    On a user-defined network this is a switch through Docker's DNS for a front proxy that reaches the
    container by name. The ready new container joins the name as a network alias, proxies get
    C(update.drainSeconds) (default 2) to see it, the old one leaves the name and drains, then is stopped
    with its C(stopSignal) and C(stopTimeout). With C(update.switch=rename) (for proxies that send a request
    again only when its connection failed, such as Traefik) the name moves by two renames instead; it never
    resolves to both, the old container always leaves it while it still serves, then drains and stops;
    C(update.switch) needs C(update.eager). A new container never joins its C(aliases) before it is ready.
    With C(update.rolling), containers are replaced one at a time in dependency then definition order; after
    the first failure no further rolling replacement happens in that run.
  - Volumes of the old container (declared anonymous volumes and the image's VOLUME paths) are mounted into
    the new one, so their data survives. No volume is ever removed.
  - Values of C(env) never appear in the diff, in RV(actions), in warnings or in errors.
author:
  - dockerup developers (@dockerup)
requirements:
  - Python 3.8 or later on the target
  - "docker (Docker SDK for Python): 7.1 or later from pip; a distribution's own package from 5.0 works with that
    distribution's requests and urllib3 (Debian 12's python3-docker 5.0.3). Every run checks this first, check
    mode included, and fails naming the versions when they cannot work together."
  - jsonschema 3.2 or later
  - PyYAML, only for YAML definition files
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
    details:
      - Check mode runs the same observation and plan as a real run and changes nothing (no create,
        remove, pull, or file written; an empty lock file may be created in O(cache)).
      - Image updates are found by asking the registry for the tag's digest, which check mode does too;
        if the registry cannot be reached, the task warns and cannot report that update.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
    details:
      - One entry per container that changes, with only the changed fields; C(env) values are masked.
options:
  containers:
    description:
      - Inline container definitions, in the container format described above.
    type: list
    elements: dict
    default: []
  confdir:
    description:
      - Directory on the target whose C(*.json) files (and C(*.yml)/C(*.yaml) files, which need PyYAML on the
        target), sorted by name, each hold one container definition, or an object whose C(containers) key lists
        several. Other files are ignored.
      - A missing directory is an error, except for the default path of the original tool,
        V(/etc/dockerup/containers.d).
      - "Input is bounded (README, Limits): a file of at most 1 MiB, 1000 files and 4 MiB per directory, 1000
        definitions from all sources, nesting of at most 32 levels and 100,000 values per document (YAML aliases
        counted as what they repeat). Beyond a limit, and for a file that is not a regular file, the task fails
        naming the file, and changes nothing."
    type: path
  user_data:
    description:
      - Also read EC2 user-data, a JSON object whose C(containers) key lists container definitions, from the
        instance metadata service (IMDSv2, falling back to IMDSv1).
      - User-data that cannot be fetched is replaced by the last good copy kept in O(cache), with a warning;
        without such a copy, containers created from user-data are left as they are. User-data that is not
        JSON or has no C(containers) is ignored with a warning.
      - The fetch (token, headers and body) has one deadline of 5 seconds and reads at most 1 MiB (decompressed,
        for gzip user-data); beyond either, user-data counts as unreadable.
    type: bool
    default: false
  user_data_endpoint:
    description:
      - Base URL of the instance metadata service, an C(http://) URL (the service answers plain HTTP on a
        link-local address); another scheme fails the task when O(user_data) is on.
    type: str
    default: http://169.254.169.254
  cache:
    description:
      - Directory for the last good user-data copy and the run lock.
    type: path
    default: /var/cache/dockerup
  docker_host:
    description:
      - The Docker engine to reconcile, for example V(unix:///var/run/docker.sock) or V(tcp://127.0.0.1:2375).
      - Defaults to the E(DOCKER_HOST) environment variable of the target, else the local socket.
    type: str
  scope:
    description:
      - Which set of managed containers this task owns. Containers of other scopes are never removed or changed.
    type: str
    default: default
  pull:
    description:
      - Check the registry for a newer image behind each tag and pull it (per container, C(update.pull) wins).
        A tag that then names another image replaces the containers running it.
      - A missing image is pulled even when this is V(false). Images without a registry digest (built or
        imported locally) are not checked.
      - A failed pull keeps the running container and warns; a missing image that cannot be pulled fails
        that container only.
    type: bool
    default: true
  registry_credentials:
    description:
      - Credentials for private registries, sent with pulls and with the update check (the tag's digest).
      - "Per registry, credentials are taken from the first of: this option; O(registry_config); the Docker client
        config of the user the module runs as on the target, E(DOCKER_CONFIG)C(/config.json), else C(~/.docker/config.json),
        read as the docker CLI reads it: C(credHelpers) for that registry, else C(credsStore), then C(auths)
        (including C(https://index.docker.io/v1/) for Docker Hub). A credential helper is the program
        C(docker-credential-<name>) on E(PATH), run with C(get) and the registry on stdin, for at most 10 s
        (this is how ECR, GCR and ACR tokens are refreshed). Registries found nowhere are asked anonymously."
      - "Refused credentials are a warning naming the registry and the image (C(401: credentials for REGISTRY
        were refused)); running containers are kept as they are, and a missing image that cannot be pulled
        fails its container only."
      - Passwords and tokens never appear in the output, the diff, the return values, warnings or errors.
    type: list
    elements: dict
    default: []
    suboptions:
      registry:
        description:
          - The registry host, with its port if any, for example V(ghcr.io) or V(127.0.0.1:5000).
            V(docker.io) or V(https://index.docker.io/v1/) is Docker Hub.
        type: str
        required: true
      username:
        description: The user name.
        type: str
        required: true
      password:
        description: The password or token.
        type: str
        required: true
  registry_config:
    description:
      - A docker-style C(config.json) on the target (C(auths), C(credHelpers), C(credsStore)) whose credentials
        come after O(registry_credentials) and before the user's Docker client config. The role
        C(dockerup.bootstrap.dockerup) writes one for its service, C(/etc/dockerup/registry.json) (mode 0600),
        when credentials, helpers or a store are set; the playbook C(dockerup.bootstrap.drift) passes it.
      - A file that cannot be read or is not such a JSON object fails the task; nothing is changed.
    type: path
  prune:
    description:
      - Remove managed containers of the O(scope) that are no longer listed. Containers from a source that
        could not be read in this run are never removed.
    type: bool
    default: true
  prune_volumes:
    description:
      - Remove the named volumes of the O(scope) that dockerup created and that no definition mounts and no
        container uses. Volumes are never removed otherwise.
    type: bool
    default: false
  ready_timeout:
    description:
      - Seconds that all readiness waits of one run may take together; a replacement not ready by then is
        rolled back.
    type: int
    default: 120
  cleanup:
    description:
      - V(managed) removes the images that replacements left unused and untagged, and (when O(prune) is
        off) the managed containers of the O(scope) that are no longer listed and have exited.
      - V(none) removes nothing.
      - V(host) reproduces the original tool's host-wide cleanup, which removes B(every) stopped container and
        every dangling image on the host, including those dockerup did not create.
      - Volumes are never removed.
    type: str
    choices: [managed, none, host]
    default: managed
notes:
  - Fields the definition leaves out are never compared against image defaults, so image-provided values
    never cause a recreation.
  - Drift of C(restart) and C(cpu) is repaired in place (C(docker update)); other drift replaces the container.
  - The module utilities of this collection are private; their interfaces may change in any release.
seealso:
  - name: Docker Engine API
    description: The API the module talks to through the Docker SDK for Python.
    link: https://docs.docker.com/engine/api/
"""

EXAMPLES = r"""
- name: Converge this host from its confdir, its user-data and an inline list
  dockerup.bootstrap.containers:
    confdir: /etc/dockerup/containers.d
    user_data: true
    containers:
      - name: web
        image: registry.example.com/web:1.4
        portMappings:
          - containerPort: 80
            hostPort: 8080
        env:
          LOG_LEVEL: info
        restart: always
        volumes:
          - containerPath: /etc/web
            hostPath: /srv/web/conf
            mode: ro

- name: Only report drift (run the play with --check --diff)
  dockerup.bootstrap.containers:
    confdir: /etc/dockerup/containers.d
  check_mode: true
  register: drift

- name: A separate set of containers that this task owns, without pulling
  dockerup.bootstrap.containers:
    scope: monitoring
    pull: false
    containers: "{{ monitoring_containers }}"
"""

RETURN = r"""
actions:
  description:
    - What was done (or, in check mode, what would be done), in order, with the reasons.
    - C(action) is one of V(network), V(build), V(pull), V(volume), V(recover), V(remove), V(remove_volume),
      V(create), V(replace), V(update), V(start), V(rollback). A failed action carries C(error).
  returned: always
  type: list
  elements: dict
  sample:
    - container: web
      action: replace
      reasons: ["definition changed: env.LOG_LEVEL"]
    - container: old-worker
      action: remove
      reasons: ["no longer listed"]
listed:
  description: The names of the containers the sources list, in definition order (the task's desired set).
  returned: always
  type: list
  elements: str
  sample: [web, worker]
containers:
  description: The listed containers that exist after the run (in check mode, as they are now), by name.
  returned: always
  type: dict
  sample:
    web:
      id: 4f1c0e3b5e0d...
      image: registry.example.com/web:1.4
      image_id: sha256:5d7f...
      status: running
      ports:
        80/tcp:
          - host_ip: 0.0.0.0
            host_port: 8080
errors:
  description: Containers that could not be converged, by name, with the reason. The task fails when this is not empty.
  returned: always
  type: dict
  sample:
    api: "image registry.example.com/api:2 is not on the host and could not be pulled: manifest unknown"
pending_updates:
  description:
    - Images whose tag names a newer image in the registry that this run found and did not bring to all their
      containers (in check mode, every update found), with the containers that use them.
  returned: always
  type: list
  elements: dict
  sample:
    - image: registry.example.com/web:1.4
      containers: [web]
      reason: "image update available for registry.example.com/web:1.4: sha256:5d7f... -> sha256:9a0b..."
status:
  description:
    - How the run went, as the host command writes it to C(status.json) in its cache dir after each run and
      C(dockerup status) shows it. The module only returns it; it writes no status file.
    - C(outcome) is V(ok), V(failed) or V(interrupted); C(exit_code) is the host command's for the same run
      (0 converged, 2 check mode with changes pending, 1 failed). C(containers) has C(listed) and C(running)
      (names), C(changed) (name -> what was done, with reasons) and C(failed) (name -> reason). C(actions) and
      C(action_errors) count the actions done and failed by kind. C(error) is this run's error, C(last_error)
      the same with its time (a module run knows no earlier one).
  returned: always
  type: dict
  sample:
    format: 1
    started: 1764820000.123
    started_at: "2025-12-04T03:46:40Z"
    finished: 1764820002.456
    finished_at: "2025-12-04T03:46:42Z"
    duration_seconds: 2.333
    outcome: ok
    exit_code: 0
    check_mode: false
    interval_seconds: null
    containers:
      listed: [web, worker]
      running: [web, worker]
      changed:
        web: ["replace: definition changed: env.LOG_LEVEL"]
      failed: {}
    actions: {replace: 1}
    action_errors: {}
    pending_updates: []
    warnings: []
    error: null
    last_error: null
diff:
  description: One entry per container that changes, with only the changed fields (env values masked).
  returned: when diff mode is on
  type: list
  elements: dict
"""

import importlib.util
import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    from ansible_collections.dockerup.bootstrap.plugins.module_utils.engine import converge
    from ansible_collections.dockerup.bootstrap.plugins.module_utils.errors import DockerupError
    from ansible_collections.dockerup.bootstrap.plugins.module_utils import status as run_status
except ImportError:
    ENGINE_IMPORT_ERROR = traceback.format_exc()
else:
    ENGINE_IMPORT_ERROR = None


def masked_invocation(params):
    """The task's arguments as Ansible echoes them back, with env values of inline definitions masked."""
    shown = dict(params)
    shown["containers"] = [
        dict(raw, env={key: "********" for key in raw["env"]}) if isinstance(raw.get("env"), dict) else raw
        for raw in params["containers"] or []
    ]
    shown["registry_credentials"] = [dict(entry, password="********") for entry in params.get("registry_credentials") or []]
    return {"module_args": shown}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            containers=dict(type="list", elements="dict", default=[]),
            confdir=dict(type="path"),
            user_data=dict(type="bool", default=False),
            user_data_endpoint=dict(type="str", default="http://169.254.169.254"),
            cache=dict(type="path", default="/var/cache/dockerup"),
            docker_host=dict(type="str"),
            scope=dict(type="str", default="default"),
            pull=dict(type="bool", default=True),
            prune=dict(type="bool", default=True),
            cleanup=dict(type="str", default="managed", choices=["managed", "none", "host"]),
            ready_timeout=dict(type="int", default=120),
            prune_volumes=dict(type="bool", default=False),
            registry_credentials=dict(type="list", elements="dict", default=[], options=dict(
                registry=dict(type="str", required=True),
                username=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
            )),
            registry_config=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if ENGINE_IMPORT_ERROR:
        module.fail_json(msg="the dockerup engine could not be imported", exception=ENGINE_IMPORT_ERROR)
    # The engine imports both only when a run needs them (a no-op run imports neither): check they are there.
    for library in ("docker", "jsonschema"):
        if importlib.util.find_spec(library) is None:
            module.fail_json(msg=missing_required_lib(library))

    params = module.params
    invocation = masked_invocation(params)
    started = time.time()

    def failed_status(message):
        return run_status.build(None, started, time.time(), 1, message, module.check_mode)

    try:
        result = converge(
            containers=params["containers"],
            confdir=params["confdir"],
            user_data=params["user_data"],
            user_data_endpoint=params["user_data_endpoint"],
            cache=params["cache"],
            docker_host=params["docker_host"],
            scope=params["scope"],
            pull=params["pull"],
            prune=params["prune"],
            cleanup=params["cleanup"],
            ready_timeout=params["ready_timeout"],
            prune_volumes=params["prune_volumes"],
            registry_credentials=params["registry_credentials"],
            registry_config=params["registry_config"],
            check_mode=module.check_mode,
            diff=module._diff,
        )
    except DockerupError as exc:
        module.fail_json(msg=str(exc), changed=False, actions=[], listed=[], containers={}, errors={}, pending_updates=[],
                         status=failed_status(str(exc)), invocation=invocation)
    except Exception as exc:  # pylint: disable=broad-except  # a bug, not bad input: a clean msg, the trace with -vvv
        message = "internal error of the dockerup engine: %s" % type(exc).__name__
        module.fail_json(msg=message, exception=traceback.format_exc(), changed=False, actions=[], listed=[], containers={},
                         errors={}, pending_updates=[], status=failed_status(message), invocation=invocation)

    code = run_status.exit_code(result, module.check_mode)
    result["status"] = run_status.build(result, started, time.time(), code, check_mode=module.check_mode)

    for warning in result.pop("warnings"):
        module.warn(warning)
    if result["errors"]:
        failed = "; ".join("%s: %s" % item for item in result["errors"].items())
        module.fail_json(msg="%d container(s) not converged: %s" % (len(result["errors"]), failed), invocation=invocation, **result)
    module.exit_json(invocation=invocation, **result)


if __name__ == "__main__":
    main()
