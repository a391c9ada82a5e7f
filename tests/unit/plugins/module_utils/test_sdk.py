# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Detection of an unusable Docker SDK for Python (the versions are read beside the packages; suspect
combinations are probed). The real combinations are run by tests/integration/run_matrix.sh."""

from __future__ import annotations

import sys

import pytest

from ansible_collections.dockerup.bootstrap.plugins.module_utils import sdk
from ansible_collections.dockerup.bootstrap.plugins.module_utils.errors import DockerupError


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    monkeypatch.setattr(sdk, "_checked", [])


def versions(monkeypatch, docker, requests, urllib3, probe=None):
    table = {"docker": docker, "requests": requests, "urllib3": urllib3}
    monkeypatch.setattr(sdk, "version_of", table.get)
    calls = []

    def fake_probe():
        calls.append(True)
        return probe

    monkeypatch.setattr(sdk, "probe", fake_probe)
    return calls


def test_version_is_read_beside_the_package(tmp_path, monkeypatch):
    package = tmp_path / "fakepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / "fakepkg-6.1.3.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert sdk.version_of("fakepkg") == (6, 1, 3)
    (tmp_path / "fakepkg-6.1.3.dist-info").rmdir()
    (tmp_path / "fakepkg-5.0.3.egg-info").write_text("")  # Debian's packages
    sys.modules.pop("fakepkg", None)
    assert sdk.version_of("fakepkg") == (5, 0, 3)
    assert sdk.version_of("surely_not_installed_here") is None


@pytest.mark.parametrize("docker, requests, urllib3", [
    ((7, 1, 0), (2, 34, 2), (2, 7, 0)),     # current pip
    ((5, 0, 3), (2, 28, 1), (1, 26, 12)),   # Debian 12's packages
    ((6, 1, 3), (2, 31, 0), (1, 26, 20)),   # pip, before requests 2.32
])
def test_known_good_combinations_are_not_probed(monkeypatch, docker, requests, urllib3):
    calls = versions(monkeypatch, docker, requests, urllib3)
    sdk.check()
    assert calls == []


def test_suspect_combination_that_works_passes(monkeypatch):
    calls = versions(monkeypatch, (5, 0, 3), (2, 31, 0), (2, 0, 7))  # as patched by a distribution
    sdk.check()
    assert calls == [True]


def test_broken_combination_is_a_clear_error(monkeypatch):
    versions(monkeypatch, (6, 1, 3), (2, 32, 3), (2, 2, 1), probe="Not supported URL scheme http+docker")
    with pytest.raises(DockerupError) as info:
        sdk.check()
    text = str(info.value)
    assert "Docker SDK for Python 6.1.3" in text and "requests 2.32.3" in text and "urllib3 2.2.1" in text
    assert "http+docker" in text and "docker>=7.1" in text


def test_missing_and_too_old(monkeypatch):
    versions(monkeypatch, None, (2, 31, 0), (1, 26, 0))
    with pytest.raises(DockerupError, match="not installed"):
        sdk.check()
    versions(monkeypatch, (4, 4, 4), (2, 25, 0), (1, 26, 0))
    with pytest.raises(DockerupError, match="older than the minimum 5.0"):
        sdk.check()


def test_probe_of_the_installed_sdk_finds_it_usable():
    pytest.importorskip("docker")  # without docker-py the probe also returns None (its import fails): no proof
    assert sdk.probe() is None


URL_SCHEME = "Not supported URL scheme http+docker"
CHUNKED = "HTTPConnection.request() got an unexpected keyword argument 'chunked'"


@pytest.mark.parametrize("kind, message, expected", [
    # requests >= 2.32 under docker-py < 7.1: the http+docker adapter is not used (the reason alone is kept)
    ("InvalidSchema", URL_SCHEME, URL_SCHEME),
    ("InvalidURL", "Error while fetching server API version: " + URL_SCHEME, URL_SCHEME),
    # urllib3 2 under docker-py < 6.1: a keyword argument its connection does not take
    ("TypeError", CHUNKED, CHUNKED),
    # a usable SDK only fails to connect to the socket that does not exist
    ("ConnectionError", "('Connection aborted.', FileNotFoundError(2, 'No such file or directory'))", None),
], ids=["url-scheme", "url-scheme-prefixed", "chunked", "connection-error"])
def test_probe_classifies_the_sdks_error(monkeypatch, kind, message, expected):
    docker = pytest.importorskip("docker")
    requests = pytest.importorskip("requests")
    error = TypeError(message) if kind == "TypeError" else getattr(requests.exceptions, kind)(message)

    def ping(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(docker.APIClient, "ping", ping)
    assert sdk.probe() == expected
