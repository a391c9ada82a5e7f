# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine runs now: our containers, name clashes, images, registry digests, networks.

Read-only. One container listing, one inspect per managed container of the scope, one image inspect
per distinct image, one registry digest check per distinct image that is checked for updates, all
inspects and checks run concurrently in a small pool.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

from . import dockerspec, engine_api, registry_auth, schema
from .errors import DockerupError, EngineUnreachable

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
POOL_SIZE = 8
TLS_ENVIRONMENT = ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def docker_host_default():
    return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def connect(docker_host=None, timeout=120):
    """A read client for observing ``docker_host``, checked to answer: the small standard-library
    client for unix sockets and plain tcp (no docker-py import on runs that change nothing), else
    docker-py's (TLS, ssh)."""
    address = docker_host or docker_host_default()
    if not engine_api.supported(address) or any(os.environ.get(v) for v in TLS_ENVIRONMENT):
        return connect_docker(address, timeout)
    client = engine_api.ReadClient(address, timeout)
    try:
        client.version()
    except engine_api.ApiError as exc:  # the client raises nothing else on a failed request
        if exc.status is None:  # not reached: the text already says where
            raise EngineUnreachable(str(exc))
        raise EngineUnreachable("the Docker engine at %s answered: %s" % (address, exc))
    return client


def connect_docker(docker_host=None, timeout=120):
    """A docker-py low-level client for ``docker_host``, checked to answer (imported only when needed)."""
    address = docker_host or docker_host_default()
    try:
        import docker  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise DockerupError("the Python package 'docker' (Docker SDK for Python) is required")
    try:
        return docker.APIClient(base_url=address, version="auto", timeout=timeout)
    except docker.errors.DockerException as exc:
        raise EngineUnreachable("cannot reach the Docker engine at %s: %s" % (address, exc))


def not_found(exc):
    """True for a 404 from either client."""
    return getattr(exc, "status", None) == 404 or getattr(exc, "status_code", None) == 404


def _or_none(inspect, name):
    """What an inspect call returns, or None when the engine answers 404."""
    try:
        return inspect(name)
    except OSError as exc:
        if not_found(exc):
            return None
        raise


def pool_map(function, items):
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(POOL_SIZE, len(items))) as pool:
        return list(pool.map(function, items))


class Observed:
    """A snapshot of the engine, as plain data for the planner."""

    def __init__(self):
        self.containers = []  # managed containers of the scope: dicts (see _container)
        self.foreign = {}  # name -> description of a container we must not touch
        self.images = {}  # image ref -> {"id", "digests"} or None when missing
        self.registry = {}  # image ref -> {"digest"} or {"error"}
        self.networks = set()  # user-defined networks that exist
        self.volumes = {}  # our named volumes and the wanted ones that exist: name -> {"ours", "scope", "in_use"}
        self.contexts = {}  # image ref built from a context -> content hash of the context now


def _container(attrs):
    labels = attrs["Config"].get("Labels") or {}
    state = attrs["State"]
    return {
        "id": attrs["Id"],
        "name": attrs["Name"].lstrip("/"),
        "image_id": attrs["Image"],
        "image": attrs["Config"].get("Image"),
        "status": state.get("Status"),
        "exit_code": state.get("ExitCode"),
        "stop_timeout": attrs["Config"].get("StopTimeout"),
        "config_hash": labels.get(dockerspec.CONFIG_HASH),
        "source": labels.get(dockerspec.SOURCE),
        "definition": labels.get(dockerspec.DEFINITION),
        "depends_on": [d for d in labels.get(dockerspec.DEPENDS_ON, "").split(",") if d],
        "dependency_ids": dockerspec.read_dependency_ids(labels),
        "live": dockerspec.live_values(attrs),
        "ports": dockerspec.bound_ports(attrs),
        "volumes": dockerspec.anonymous_volumes(attrs),
    }


def wants_update_check(definition, pull_default):
    """Whether the registry is asked about this container's image (never for images built here)."""
    if definition["build"]:
        return False
    return definition["pull"] if definition["pull"] is not None else pull_default


def context_hash(definition):
    """Content hash of a build: every file of the context (path, executable bit, bytes), the
    Dockerfile's name and the build args. Files a .dockerignore excludes are hashed too."""
    build = definition["build"]
    digest = hashlib.sha256()
    digest.update(json.dumps([build["dockerfile"], build["args"]], sort_keys=True).encode("utf-8"))
    root = build["context"]
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, root).encode("utf-8", "surrogateescape") + b"\0")
            digest.update(b"x" if os.access(path, os.X_OK) else b"-")
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 16), b""):
                    digest.update(chunk)
            digest.update(b"\0")
    return digest.hexdigest()


def observe(api, definitions, scope, pull_default, auth=None, prune_volumes=False):
    """``auth``: the run's registry credentials (registry_auth.RegistryAuth), or None for none."""
    observed = Observed()
    try:
        listing = api.containers(all=True)
    except OSError as exc:
        raise EngineUnreachable("cannot list containers on the Docker engine at %s: %s" % (api.base_url, exc))
    desired = {d["name"] for d in definitions}
    ours = []
    for summary in listing:
        labels = summary.get("Labels") or {}
        name = (summary.get("Names") or ["/"])[0].lstrip("/")
        if labels.get(dockerspec.MANAGED) == "true" and labels.get(dockerspec.SCOPE) == scope:
            ours.append(summary["Id"])
        elif name in desired:
            other = labels.get(dockerspec.SCOPE) if labels.get(dockerspec.MANAGED) == "true" else None
            observed.foreign[name] = (
                "managed by dockerup scope %r" % other if other else "not managed by dockerup"
            )
    observed.containers = [c for c in pool_map(lambda cid: _inspect(api, cid), ours) if c]

    refs = sorted({d["image"] for d in definitions})
    for ref, info in zip(refs, pool_map(lambda ref: _image(api, ref), refs)):
        observed.images[ref] = info
    check = sorted(
        {d["image"] for d in definitions if wants_update_check(d, pull_default) and (observed.images.get(d["image"]) or {}).get("digests")}
    )
    for ref, info in zip(check, pool_map(lambda ref: _registry_digest(api, ref, auth), check)):
        observed.registry[ref] = info

    wanted_networks = {d["network"] for d in definitions if schema.user_network(d["network"])}
    if wanted_networks:
        found = api.networks(names=sorted(wanted_networks))
        observed.networks = {n["Name"] for n in found} & wanted_networks

    wanted_volumes = {n["name"] for d in definitions for n in d["named_volumes"]}
    if wanted_volumes or prune_volumes:
        in_use = {m.get("Name") for c in listing for m in c.get("Mounts") or [] if m.get("Type") == "volume"}
        for volume in api.volumes().get("Volumes") or []:
            labels = volume.get("Labels") or {}
            ours = labels.get(dockerspec.MANAGED) == "true"
            if volume["Name"] in wanted_volumes or (ours and labels.get(dockerspec.SCOPE) == scope):
                observed.volumes[volume["Name"]] = {"ours": ours, "in_use": volume["Name"] in in_use}

    for definition in definitions:
        if definition["build"]:
            try:
                observed.contexts[definition["image"]] = context_hash(definition)
            except OSError as exc:
                raise DockerupError("container %r: build context %s cannot be read: %s" % (
                    definition["name"], definition["build"]["context"], exc.strerror or exc))
    return observed


def _inspect(api, container_id):
    attrs = _or_none(api.inspect_container, container_id)  # None: removed since the listing
    return None if attrs is None else _container(attrs)


def inspect_by_name(api, name, scope):
    """A managed container of ``scope`` by name, or None (missing, or not ours)."""
    attrs = _or_none(api.inspect_container, name)
    if attrs is None:
        return None
    labels = attrs["Config"].get("Labels") or {}
    if labels.get(dockerspec.MANAGED) != "true" or labels.get(dockerspec.SCOPE) != scope:
        return None
    return _container(attrs)


def _image(api, ref):
    attrs = _or_none(api.inspect_image, ref)
    if attrs is None:
        return None
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    # Only digests of the reference's own repository say where an update would come from; an image
    # built or imported here (or pushed elsewhere only) has none and is not checked for updates.
    repository = dockerspec.repository(ref)
    digests = sorted(d for d in attrs.get("RepoDigests") or [] if dockerspec.repository(d) == repository)
    return {"id": attrs["Id"], "digests": digests, "context_hash": labels.get(dockerspec.CONTEXT_HASH)}


def _registry_digest(api, ref, auth=None):
    """The digest the registry's tag names now, asked with the registry's credentials; or the error,
    said as a credentials problem when it is one (``401: credentials for REGISTRY were refused ...``)."""
    try:
        found = auth.lookup(ref)[1] if auth else None
        return {"digest": api.inspect_distribution(ref, auth_config=found or {})["Descriptor"]["digest"]}
    except registry_auth.CredentialError as exc:
        return {"error": str(exc)}
    except (OSError, KeyError) as exc:
        text = _short_error(exc)
        status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
        return {"error": auth.explain(ref, text, status) if auth else text}


def _short_error(exc):
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip().splitlines()[0] if str(explanation or exc).strip() else type(exc).__name__


def image_current(image, registry_info):
    """True when the local image already is what the registry's tag names."""
    digest = registry_info.get("digest")
    return any(d.endswith("@" + digest) for d in image["digests"])
