# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry credentials: where they are found, in which order, bounded, and never shown."""
from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import observe, registry_auth
from ansible_collections.dockerup.bootstrap.plugins.module_utils.errors import DockerupError

docker_auth = pytest.importorskip("docker.auth")

SECRET = "s3cr3t-Pa55w0rd-xyz"
REG = "127.0.0.1:25555"
REF = REG + "/ra/app:1"


def b64(user, password):
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def write_config(folder, config):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(str(folder), "config.json")
    with open(path, "w") as handle:
        json.dump(config, handle)
    return path


def helper(tmp_path, name, body):
    """A docker-credential-NAME script in tmp_path/bin; returns that folder."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    path = folder / ("docker-credential-" + name)
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(folder)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A home and DOCKER_CONFIG of the test's own; PATH gains tmp_path/bin."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + os.pathsep + os.environ["PATH"])
    return tmp_path


# -- names ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", [
    "busybox", "busybox:1", "library/busybox:1", "docker.io/library/busybox:1", "index.docker.io/x/y:2",
    "127.0.0.1:5000/app:1", "localhost/app", "localhost:5000/a/b/c:1", "ghcr.io/o/r@sha256:" + "0" * 64,
    "registry.example.com/web:1.4", "user/repo", "my-registry:443/x",
])
def test_registry_of_is_docker_pys_registry(ref):
    assert registry_auth.registry_of(ref) == docker_auth.resolve_repository_name(ref)[0]


def test_docker_config_path_follows_the_cli(env, monkeypatch):
    assert registry_auth.docker_config_path() == str(env / "home" / ".docker" / "config.json")
    monkeypatch.setenv("DOCKER_CONFIG", "/etc/dc")
    assert registry_auth.docker_config_path() == "/etc/dc/config.json"


# -- reading a config file -----------------------------------------------------------------------------
def test_read_config_bounds_and_shapes(tmp_path):
    path = tmp_path / "config.json"
    assert registry_auth.read_config(str(path)) is None
    path.write_text("")
    assert registry_auth.read_config(str(path)) == {}
    path.write_text("{nope")
    with pytest.raises(ValueError, match="not JSON"):
        registry_auth.read_config(str(path))
    path.write_text("[]")
    with pytest.raises(ValueError, match="not a JSON object"):
        registry_auth.read_config(str(path))
    path.write_text(json.dumps({"psFormat": "x" * 2000}))
    with pytest.raises(ValueError, match="larger than 1 KiB"):
        registry_auth.read_config(str(path), cap=1024)


@pytest.mark.parametrize("config", [
    {},
    {"psFormat": "table"},
    {"auths": {}},
    {"auths": {"other.example.com": {"auth": b64("u", "p")}}},
    {"auths": {REG: {"auth": b64("u", "p")}}},
    {"auths": {"http://" + REG + "/v2/": {"auth": b64("u", "p")}}},
    {"auths": {"https://index.docker.io/v1/": {"auth": b64("u", "p")}}},
    {"auths": {"docker.io": {"auth": b64("u", "p")}}},
    {REG: {"auth": b64("u", "p")}},  # no section at all: docker-py reads the file as a bare auths map
    {"credHelpers": {"other.example.com": "x"}, "auths": {"other.example.com": {"auth": b64("u", "p")}}},
])
@pytest.mark.parametrize("registry", [REG, "docker.io", "ghcr.io"])
def test_may_have_is_false_only_when_docker_py_finds_nothing(config, registry):
    found = docker_auth.load_config(config_dict=json.loads(json.dumps(config))).resolve_authconfig(registry)
    if not registry_auth.may_have(config, registry):
        assert not found


def test_a_store_or_a_helper_for_the_registry_always_asks_docker_py():
    assert registry_auth.may_have({"credsStore": "desktop"}, "ghcr.io")
    assert registry_auth.may_have({"credHelpers": {REG: "x"}}, REG)
    assert registry_auth.may_have({"credHelpers": {"https://index.docker.io/v1/": "x"}}, "docker.io")
    assert not registry_auth.may_have({"credHelpers": {REG: "x"}}, "ghcr.io")


# -- the three forms -----------------------------------------------------------------------------------
def test_auths_entry_from_docker_config(env, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    path = write_config(env / "dc", {"auths": {REG: {"auth": b64("alice", SECRET)}}})
    registry, found, where = registry_auth.RegistryAuth().lookup(REF)
    assert (registry, where) == (REG, path)
    assert (found["username"], found["password"]) == ("alice", SECRET)


def test_docker_hub_entry_under_its_v1_url(env):
    write_config(env / "home" / ".docker", {"auths": {"https://index.docker.io/v1/": {"auth": b64("bob", SECRET)}}})
    registry, found, _where = registry_auth.RegistryAuth().lookup("busybox:1")
    assert registry == "docker.io" and found["password"] == SECRET
    assert registry_auth.RegistryAuth().lookup(REF)[1] is None


def test_cred_helper_gets_the_server_on_stdin_and_nothing_on_its_command_line(env, monkeypatch):
    log = env / "helper.log"
    helper(env, "dut", """\
        read -r server
        printf '%s|%s\\n' "$*" "$server" >> {log}
        printf '{{"ServerURL":"%s","Username":"carol","Secret":"{secret}"}}' "$server"
        """.format(log=log, secret=SECRET))
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    write_config(env / "dc", {"credHelpers": {REG: "dut"}})
    auth = registry_auth.RegistryAuth()
    for _unused in range(3):  # asked once per registry and run
        registry, found, _where = auth.lookup(REF)
    assert found == {"ServerAddress": REG, "Username": "carol", "Password": SECRET}
    assert log.read_text() == "get|%s\n" % REG


def test_creds_store_for_every_registry_and_hub_by_its_v1_url(env, monkeypatch):
    log = env / "helper.log"
    helper(env, "store", """\
        read -r server
        echo "$server" >> {log}
        printf '{{"ServerURL":"%s","Username":"<token>","Secret":"{secret}"}}' "$server"
        """.format(log=log, secret=SECRET))
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    write_config(env / "dc", {"credsStore": "store"})
    auth = registry_auth.RegistryAuth()
    assert auth.lookup(REF)[1] == {"ServerAddress": REG, "IdentityToken": SECRET}
    assert auth.lookup("busybox")[1]["IdentityToken"] == SECRET
    assert log.read_text().split() == [REG, "https://index.docker.io/v1/"]


def test_helper_without_credentials_falls_back_to_auths(env, monkeypatch):
    helper(env, "empty", """\
        echo "credentials not found in native keychain"
        exit 1
        """)
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    write_config(env / "dc", {"credsStore": "empty", "auths": {REG: {"auth": b64("dave", SECRET)}}})
    assert registry_auth.RegistryAuth().lookup(REF)[1]["username"] == "dave"
    assert registry_auth.RegistryAuth().lookup("ghcr.io/x/y")[1] is None


# -- bounds and failures ---------------------------------------------------------------------------------
@pytest.mark.parametrize("body, message", [
    ("sleep 30\n", "did not answer within 0.5 s"),
    ("yes Secret\n", "wrote more than 64 KiB"),
    ("echo 'store is locked' >&2\nexit 3\n", "exited with status 3: store is locked"),
    ("echo '{\"Username\":\"u\",\"Secret\":\"%s\"}'\nexit 1\n" % SECRET, "exited with status 1: (output not shown)"),
    ("echo not json\n", "malformed entry or helper answer"),
])
def test_a_failing_helper_is_a_credentials_error_without_the_secret(env, monkeypatch, body, message):
    # Half a second for the one that sleeps; the others get ample time to start on a busy machine.
    monkeypatch.setattr(registry_auth, "HELPER_TIMEOUT", 0.5 if body.startswith("sleep") else 30)
    helper(env, "bad", body)
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    write_config(env / "dc", {"credHelpers": {REG: "bad"}})
    auth = registry_auth.RegistryAuth()
    with pytest.raises(registry_auth.CredentialError) as caught:
        auth.lookup(REF)
    assert message in str(caught.value) and REG in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(registry_auth.CredentialError) as again:  # the same answer for the next image, no second run
        auth.lookup(REG + "/other:2")
    assert again.value is caught.value


def test_a_helper_missing_from_path(env, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    write_config(env / "dc", {"credHelpers": {REG: "nowhere"}})
    with pytest.raises(registry_auth.CredentialError, match="docker-credential-nowhere is not on PATH"):
        registry_auth.RegistryAuth().lookup(REF)


def test_a_broken_docker_config_is_not_used_and_said_so(env, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    (env / "dc").mkdir()
    (env / "dc" / "config.json").write_text("{" + SECRET)
    auth = registry_auth.RegistryAuth()
    assert auth.lookup(REF)[1] is None
    text = auth.explain(REF, "no basic auth credentials", 500)
    assert "not used: not JSON" in text and SECRET not in text


def test_a_registry_config_given_to_the_tool_must_be_readable(tmp_path):
    with pytest.raises(DockerupError, match="no such file"):
        registry_auth.RegistryAuth(config_path=str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("x")
    with pytest.raises(DockerupError, match="cannot be read: not JSON"):
        registry_auth.RegistryAuth(config_path=str(tmp_path / "bad.json"))


# -- order: given to the tool > its registry_config > the docker config ------------------------------------
def test_order_of_sources(env, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(env / "dc"))
    write_config(env / "dc", {"auths": {REG: {"auth": b64("docker", "p1")}, "ghcr.io": {"auth": b64("docker", "p2")},
                                        "quay.io": {"auth": b64("docker", "p3")}}})
    own = write_config(env / "own", {"auths": {REG: {"auth": b64("file", "p4")}, "ghcr.io": {"auth": b64("file", "p5")}}})
    auth = registry_auth.RegistryAuth(hub_auth={"username": "hub", "password": "p6"},
                                      credentials=[{"registry": "https://" + REG, "username": "given", "password": "p7"}],
                                      config_path=own)
    assert auth.lookup(REF)[1:] == ({"username": "given", "password": "p7", "serveraddress": REG}, "registry_credentials")
    assert auth.lookup("ghcr.io/a/b")[1]["username"] == "file"
    assert auth.lookup("quay.io/a/b")[1]["username"] == "docker"
    assert auth.lookup("busybox")[1:] == ({"username": "hub", "password": "p6"}, "username/password")


def test_no_docker_import_without_an_entry_for_the_registry(env):
    """The no-op fast path: a config with entries for other registries only costs a JSON read."""
    write_config(env / "home" / ".docker", {"auths": {"ghcr.io": {"auth": b64("u", "p")}}})
    code = textwrap.dedent("""\
        import sys
        from ansible_collections.dockerup.bootstrap.plugins.module_utils import registry_auth
        auth = registry_auth.RegistryAuth(credentials=[{"registry": "quay.io", "username": "u", "password": "p"}])
        assert auth.lookup("127.0.0.1:5000/app:1")[1] is None
        assert auth.lookup("quay.io/a/b")[1]["username"] == "u"
        assert "docker" not in sys.modules, "docker-py imported"
        auth.lookup("ghcr.io/a/b")
        assert "docker" in sys.modules
        """)
    subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, HOME=str(env / "home")))


# -- what the digest check and the warnings say -----------------------------------------------------------
class FakeApi:
    def __init__(self, error=None):
        self.error = error
        self.seen = []

    def inspect_distribution(self, ref, auth_config=None):
        self.seen.append((ref, auth_config))
        if self.error:
            raise self.error
        return {"Descriptor": {"digest": "sha256:abc"}}


class ApiError(OSError):
    def __init__(self, message, status):
        super().__init__(message)
        self.explanation = message
        self.status = status


def test_digest_check_sends_the_registrys_credentials_only(env, monkeypatch):
    auth = registry_auth.RegistryAuth(credentials=[{"registry": REG, "username": "u", "password": SECRET}])
    api = FakeApi()
    assert observe._registry_digest(api, REF, auth) == {"digest": "sha256:abc"}
    assert observe._registry_digest(api, "ghcr.io/a/b:1", auth) == {"digest": "sha256:abc"}
    assert api.seen == [(REF, {"username": "u", "password": SECRET, "serveraddress": REG}), ("ghcr.io/a/b:1", {})]


def test_refused_credentials_are_a_warning_naming_registry_without_the_secret(env):
    auth = registry_auth.RegistryAuth(credentials=[{"registry": REG, "username": "u", "password": SECRET}])
    info = observe._registry_digest(FakeApi(ApiError("unauthorized: authentication required", 401)), REF, auth)
    assert info["error"].startswith("401: credentials for %s were refused; they came from registry_credentials" % REG)
    assert SECRET not in info["error"]


def test_missing_credentials_say_where_they_were_looked_for(env):
    info = observe._registry_digest(FakeApi(ApiError('Head "http://x/v2/": no basic auth credentials', 500)), REF,
                                    registry_auth.RegistryAuth())
    assert info["error"].startswith("401: %s asks for credentials and none were found" % REG)
    assert str(env / "home" / ".docker" / "config.json") + " (missing)" in info["error"]


def test_other_errors_are_left_as_they_are(env):
    auth = registry_auth.RegistryAuth()
    info = observe._registry_digest(FakeApi(ApiError("manifest unknown", 404)), REF, auth)
    assert info == {"error": "manifest unknown"}


@pytest.mark.parametrize("text, credentials_problem", [
    ("denied: requested access to the resource is denied", True),
    ("pull access denied for x, repository does not exist or may require 'docker login'", True),
    ("Get \"https://r/v2/\": denied: Permission \"artifactregistry.repositories.downloadArtifacts\" denied", True),
    ("open /var/lib/docker/tmp/x: permission denied", False),  # a local error is not about credentials
])
def test_only_a_registrys_denial_is_a_credentials_problem(env, text, credentials_problem):
    said = registry_auth.RegistryAuth().explain(REF, text)
    assert (said != text) is credentials_problem
    if credentials_problem:
        assert said.startswith("401: %s asks for credentials and none were found" % REG)


def test_a_helper_never_outlives_a_run_stopped_while_it_works(tmp_path):
    """A signal's exception (SIGTERM raises Interrupted in the command) while the helper runs kills it."""
    import signal
    pid_file = tmp_path / "pid"

    class Stopped(Exception):
        pass

    def stop(_signum, _frame):
        raise Stopped()

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(Stopped):
            registry_auth.run_helper(["sh", "-c", 'echo $$ > "$0"; exec sleep 30', str(pid_file)], b"", timeout=20)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(int(pid_file.read_text()), 0)
