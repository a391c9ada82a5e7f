# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials for pulls and digest checks, found the way the docker CLI finds them.

Per registry, the first source that has credentials for it wins:

1. credentials given to the tool: the module's ``registry_credentials``, the host command's
   ``username``/``password``/``email`` (Docker Hub, as in the original tool);
2. the docker-style config file given to the tool (the host command's ``registry_config``);
3. the Docker client config: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json`` of the user
   running dockerup.

In a config file, ``credHelpers`` (per registry) and ``credsStore`` (every registry) name a
``docker-credential-<name>`` program on PATH, asked with ``get`` and the server on stdin; ``auths``
entries (``auth`` = base64 of ``user:password``, or ``identitytoken``) are used as they are. The
resolution itself is docker-py's (``docker.auth.AuthConfig``); this module bounds what it reads (a
config file of at most 1 MiB, a helper that answers within 10 s with at most 64 KiB) and imports
docker-py only when a config file may have credentials for the registry asked about, so that a no-op
run without credentials stays as cheap as before.

Secrets never leave this module except in the ``auth_config`` handed to the engine: messages name the
registry and where its credentials came from, never a user name, password or token.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
import time

from . import bounded
from .errors import DockerupError

INDEX_NAME = "docker.io"  # as docker.auth spells them
INDEX_URL = "https://index.docker.io/v1/"
CONFIG_CAP = 1 << 20  # bytes of a config file read at most
HELPER_TIMEOUT = 10.0  # seconds a credential helper may take
HELPER_OUTPUT_CAP = 64 << 10  # bytes of a helper's output read at most
EXPLICIT = "registry_credentials"


class CredentialError(DockerupError):
    """The credentials for a registry could not be found out (a helper failed, a config is broken)."""


# -- names: the same rules as docker.auth (split_repo_name, resolve_index_name), without importing it ------
def convert_to_hostname(url):
    return url.replace("http://", "").replace("https://", "").split("/", 1)[0]


def resolve_index_name(index_name):
    index_name = convert_to_hostname(index_name)
    return INDEX_NAME if index_name == "index." + INDEX_NAME else index_name


def registry_of(ref):
    """The registry an image reference is pulled from, as docker-py names it for its credential lookup:
    ``busybox:1`` -> ``docker.io``, ``127.0.0.1:5000/app:1`` -> ``127.0.0.1:5000``."""
    parts = ref.split("/", 1)
    if len(parts) == 1 or ("." not in parts[0] and ":" not in parts[0] and parts[0] != "localhost"):
        return INDEX_NAME
    return resolve_index_name(parts[0])


def docker_config_path():
    """Where the docker CLI reads its config: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(folder, "config.json")


def read_config(path, cap=CONFIG_CAP):
    """A config file as a dict; None when it does not exist. OSError/ValueError say why it cannot be used."""
    try:
        data = bounded.read_file(path, cap)
    except FileNotFoundError:
        return None
    except bounded.TooLarge:
        raise ValueError("larger than %d KiB" % (cap >> 10))
    try:
        config = bounded.parse_json(bounded.decode(data)) if data.strip() else {}
    except bounded.InputError:
        raise ValueError("not JSON")
    if not isinstance(config, dict):
        raise ValueError("not a JSON object")
    return config


def may_have(config, registry):
    """False only when docker-py's ``resolve_authconfig(registry)`` certainly finds nothing in ``config``
    (no credential store applies, no ``auths`` key resolves to ``registry``): then docker-py need not be
    imported. Mirrors ``AuthConfig.load_config`` (including its reading of a file without any of the three
    sections as a bare ``auths`` map) and ``resolve_authconfig``."""
    if config.get("credsStore"):
        return True
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict) and helpers.get(INDEX_URL if registry == INDEX_NAME else registry):
        return True
    auths = config.get("auths")
    if not (auths or config.get("credsStore") or config.get("credHelpers")):
        auths = config
    elif not auths:
        auths = {}
    if not isinstance(auths, dict):
        return True  # let docker-py say what is wrong with it
    return any(isinstance(key, str) and (key == registry or resolve_index_name(key) == registry) for key in auths)


# -- a credential helper, bounded ---------------------------------------------------------------------------
def run_helper(argv, data, timeout=None, cap=None, env=None):
    """Run ``argv`` with ``data`` on stdin; ``(returncode, stdout, stderr)``. Killed (and OSError raised)
    when it takes longer than ``timeout`` (HELPER_TIMEOUT) or writes more than ``cap`` (HELPER_OUTPUT_CAP) bytes."""
    import selectors  # pylint: disable=import-outside-toplevel  # only when a helper runs
    import subprocess  # pylint: disable=import-outside-toplevel
    timeout = HELPER_TIMEOUT if timeout is None else timeout
    cap = HELPER_OUTPUT_CAP if cap is None else cap
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, close_fds=True)
    output = {process.stdout: b"", process.stderr: b""}
    try:
        try:
            process.stdin.write(data or b"")
            process.stdin.close()
        except BrokenPipeError:
            pass
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for stream in output:
                selector.register(stream, selectors.EVENT_READ)
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OSError("did not answer within %g s" % timeout)
                for key, _events in selector.select(left):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    output[key.fileobj] += chunk
                    if len(output[key.fileobj]) > cap:
                        raise OSError("wrote more than %d KiB" % (cap >> 10))
        code = process.wait(max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        raise OSError("did not exit within %g s" % timeout)
    finally:
        # Also when a signal stops the run while the helper works: no helper outlives its caller.
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in output:
            stream.close()
    return code, output[process.stdout], output[process.stderr]


def _first_line(data):
    text = data.decode("utf-8", "replace").strip()
    line = text.splitlines()[0] if text else ""
    if "secret" in line.lower() or "password" in line.lower():
        return "(output not shown)"  # a helper that fails while printing credentials: keep them out of messages
    return line[:200]


_DOCKER = {}
_DOCKER_LOCK = threading.Lock()


def _docker_auth():
    """docker-py's AuthConfig, with credential stores that run their helper bounded (imported on first use)."""
    with _DOCKER_LOCK:
        if "AuthConfig" in _DOCKER:
            return _DOCKER["AuthConfig"]
        try:
            from docker import auth, credentials  # pylint: disable=import-outside-toplevel
        except ImportError:
            raise CredentialError("the Python package 'docker' (Docker SDK for Python) is required to read registry credentials")

        class BoundedStore(credentials.Store):
            """docker-py's credential store, with the helper run by ``run_helper`` (timeout, output cap,
            stderr captured) and without a Python warning when the helper is missing."""

            def __init__(self, program, environment=None):  # pylint: disable=super-init-not-called
                self.program = credentials.constants.PROGRAM_PREFIX + program
                self.exe = shutil.which(self.program)
                self.environment = environment

            def _execute(self, subcmd, data_input):
                if self.exe is None:
                    raise credentials.StoreError("%s is not on PATH" % self.program)
                try:
                    code, out, err = run_helper([self.exe, subcmd], data_input,
                                                env=credentials.utils.create_environment_dict(self.environment))
                except OSError as exc:
                    raise credentials.StoreError("%s %s: %s" % (self.program, subcmd, exc.strerror or exc))
                if code != 0:
                    if b"credentials not found in native keychain" in out:  # as docker-py's process_store_error
                        raise credentials.CredentialsNotFound("no credentials in %s" % self.program)
                    raise credentials.StoreError("%s %s exited with status %d: %s" % (
                        self.program, subcmd, code, _first_line(err) or _first_line(out) or "no output"))
                return out

        class BoundedAuthConfig(auth.AuthConfig):
            def _get_store_instance(self, name):
                if name not in self._stores:
                    self._stores[name] = BoundedStore(name, environment=self._credstore_env)
                return self._stores[name]

        _DOCKER["AuthConfig"] = BoundedAuthConfig
        _DOCKER["errors"] = (credentials.StoreError, auth.errors.DockerException)
        return BoundedAuthConfig


def resolve(config, registry, where):
    """docker-py's answer for ``registry`` from the config dict ``config`` (read from ``where``): the
    auth config dict, or None. Raises CredentialError when a helper fails or the file is malformed."""
    if not may_have(config, registry):
        return None
    auth_config = _docker_auth()
    try:
        found = auth_config.load_config(None, copy.deepcopy(config)).resolve_authconfig(registry)
    except _DOCKER["errors"] as exc:
        text = str(getattr(exc, "__cause__", None) or exc)
        raise CredentialError("credentials for %s from %s: %s" % (registry, where, text))
    except (ValueError, KeyError, TypeError, AttributeError):
        # a bad base64 ``auth``, or a helper whose answer is not credentials; its text may hold a secret
        raise CredentialError("credentials for %s from %s cannot be read (malformed entry or helper answer)" % (registry, where))
    return found or None


class RegistryAuth:
    """The credentials of one run, per registry, looked up once (helpers run at most once per registry).

    ``hub_auth``: the original's Docker Hub credentials (dict with username, password, email).
    ``credentials``: list of ``{registry, username, password, email?}`` given to the tool.
    ``config_path``: a docker-style config.json given to the tool; it must be readable (DockerupError).
    ``docker_config``: the Docker client config to fall back to (default: as the docker CLI finds it).
    """

    def __init__(self, hub_auth=None, credentials=None, config_path=None, docker_config=None):
        self.explicit = {}
        if hub_auth and hub_auth.get("username"):
            self.explicit[INDEX_NAME] = (dict(hub_auth), "username/password")
        for entry in credentials or []:
            registry = resolve_index_name(str(entry.get("registry") or "").strip())
            if not registry:
                raise DockerupError("%s: an entry has no registry" % EXPLICIT)
            found = {"username": entry.get("username") or "", "password": entry.get("password") or "",
                     "serveraddress": INDEX_URL if registry == INDEX_NAME else registry}
            if entry.get("email"):
                found["email"] = entry["email"]
            self.explicit.setdefault(registry, (found, EXPLICIT))
        self.configs = []  # (where, config dict or None, problem or None), in order of precedence
        if config_path:
            try:
                config = read_config(config_path)
            except (OSError, ValueError) as exc:
                raise DockerupError("registry config %s cannot be read: %s" % (config_path, getattr(exc, "strerror", None) or exc))
            if config is None:
                raise DockerupError("registry config %s: no such file" % config_path)
            self.configs.append((config_path, config, None))
        self.docker_config = docker_config
        self._docker_read = False
        self._found = {}
        self._lock = threading.Lock()

    def _sources(self):
        if not self._docker_read:
            self._docker_read = True
            path = self.docker_config or docker_config_path()
            try:
                config = read_config(path)
            except (OSError, ValueError) as exc:
                self.configs.append((path, None, "not used: %s" % (getattr(exc, "strerror", None) or exc)))
            else:
                self.configs.append((path, config, None if config is not None else "missing"))
        return self.configs

    def lookup(self, ref):
        """``(registry, auth_config or None, where)`` for image ``ref``; ``where`` names the source.
        Raises CredentialError (the same one again for later images of that registry)."""
        registry = registry_of(ref)
        with self._lock:
            if registry not in self._found:
                self._found[registry] = self._lookup(registry)
        result = self._found[registry]
        if isinstance(result, CredentialError):
            raise result
        return result

    def _lookup(self, registry):
        if registry in self.explicit:
            found, where = self.explicit[registry]
            return registry, found, where
        for where, config, _problem in self._sources():
            if config is None:
                continue
            try:
                found = resolve(config, registry, where)
            except CredentialError as exc:
                return exc
            if found:
                return registry, found, where
        return registry, None, None

    def explain(self, ref, text, status=None):
        """The engine's error for ``ref`` said as a credentials problem when it is one, else ``text``."""
        lowered = text.lower()
        if not (status == 401 or "unauthorized" in lowered or "authentication required" in lowered
                or "no basic auth credentials" in lowered or "access denied" in lowered or "denied:" in lowered
                or "requested access to the resource is denied" in lowered):
            return text
        try:
            registry, found, where = self.lookup(ref)
        except CredentialError as exc:
            return str(exc)
        if found:
            return "401: credentials for %s were refused; they came from %s; the registry said: %s" % (registry, where, text)
        looked = ", ".join(w if p is None else "%s (%s)" % (w, p) for w, _c, p in self._sources())
        return "401: %s asks for credentials and none were found in those given to dockerup or in %s; the registry said: %s" % (
            registry, looked, text)
