# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is the Docker SDK for Python (docker-py) on this host usable? Asked at the start of every run,
check mode included: check and no-op runs never load the SDK, so without this a host whose SDK
cannot talk to any engine would plan changes it can never make.

docker-py older than 7.1 cannot talk to an engine next to requests 2.32 or newer ("Not supported URL
scheme http+docker"), and older than 6.1 not next to urllib3 2 ("unexpected keyword argument
'chunked'"); distributions patch their own packages, so such a combination is probed, not refused.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys

from .errors import DockerupError

MINIMUM = (5, 0)
FIX = ("install docker>=7.1 (pip install 'docker>=7.1'), or use the distribution's own python3-docker "
       "together with its own python3-requests and python3-urllib3")
_PROBE_SOCKET = "unix:///nonexistent/dockerup-sdk-probe.sock"
_checked = []


def version_of(name):
    """The installed version of distribution ``name`` as a tuple of ints, found beside its package
    without importing it (importlib.metadata scans every path entry: too slow for a no-op run)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    where = os.path.dirname(os.path.dirname(spec.origin))
    try:
        entries = os.listdir(where)
    except OSError:
        return None
    pattern = re.compile(r"^%s-(\d+(?:\.\d+)*)[^/]*\.(?:dist-info|egg-info)$" % re.escape(name), re.IGNORECASE)
    for entry in sorted(entries):
        found = pattern.match(entry)
        if found:
            return tuple(int(part) for part in found.group(1).split("."))
    return ()  # installed, version unknown


def _text(version):
    return ".".join(str(part) for part in version) if version else "unknown"


def check():
    """DockerupError when docker-py is missing, too old, or cannot send a request next to the
    installed requests/urllib3. Costs one directory listing for docker 7.1 or later; requests and
    urllib3 are looked up only for older ones, and suspect combinations probed."""
    if _checked:
        return
    docker = version_of("docker")
    if docker is None:
        raise DockerupError("the Docker SDK for Python (docker) is not installed for %s: %s" % (sys.executable or "this Python", FIX))
    if docker and docker < MINIMUM:
        raise DockerupError("the Docker SDK for Python %s is older than the minimum %s: %s" % (_text(docker), _text(MINIMUM), FIX))
    if docker and docker < (7, 1):
        requests, urllib3 = version_of("requests"), version_of("urllib3")
        problem = probe() if (requests or ()) >= (2, 32) or (urllib3 or ()) >= (2,) else None
        if problem:
            raise DockerupError(
                "the Docker SDK for Python %s cannot send requests next to requests %s and urllib3 %s (%s): %s"
                % (_text(docker), _text(requests), _text(urllib3), problem, FIX))
    _checked.append(True)


def probe():
    """Send one request through docker-py to a socket that does not exist: a usable SDK fails to
    connect; a broken one fails before that. Returns the broken SDK's error, or None."""
    try:
        import docker  # pylint: disable=import-outside-toplevel
        client = docker.APIClient(base_url=_PROBE_SOCKET, version="1.41", timeout=2)
        client.ping()
    except TypeError as exc:  # urllib3 2 under docker-py < 6.1
        return "%s" % exc
    except Exception as exc:  # pylint: disable=broad-except  # a usable SDK ends in a connection error
        text = str(exc)
        if "URL scheme" in text or "InvalidURL" in type(exc).__name__ or "InvalidSchema" in type(exc).__name__:
            return text.split(": ", 1)[-1] if "Not supported URL scheme" in text else text
        return None
    return None
