# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where definitions come from: an inline list, a confdir of JSON (or YAML) files, EC2 user-data.

``read_sources`` returns raw entries (not yet validated) plus what could not be read. A source that
could not be read is not an empty list: its containers are protected from pruning in this run.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import tempfile
import urllib.parse

try:
    import yaml
except ImportError:
    yaml = None
    YAML_ERRORS = ()
else:
    YAML_ERRORS = (yaml.YAMLError,)

DEFAULT_CONFDIR = "/etc/dockerup/containers.d"
DEFAULT_USER_DATA_ENDPOINT = "http://169.254.169.254"
USER_DATA_SOURCE = "user-data"
INLINE_SOURCE = "inline"
USER_DATA_CACHE = "user-data.json"
IMDS_TIMEOUT = 2.0
IMDS_TOKEN_TTL = "60"


class Sources:
    """Raw entries from every source, in order, and what the run must know about them."""

    def __init__(self):
        self.entries = []  # (raw, origin, source label)
        self.problems = []  # files that cannot be read or parsed: the run fails (with the schema's problems)
        self.warnings = []
        self.unread = set()  # source labels that could not be read now (never prune their containers)
        self.user_data_text = None  # a good user-data document to store as the last good copy

    def add_document(self, document, origin, source):
        """A document is one container object or ``{"containers": [...]}``."""
        if isinstance(document, dict) and "containers" in document:
            containers = document["containers"]
            if not isinstance(containers, list):
                self.problems.append("%s: containers: must be a list of container definitions" % origin)
                return
            for index, raw in enumerate(containers):
                self.entries.append((raw, "%s: containers[%d]" % (origin, index), source))
        elif isinstance(document, dict):
            self.entries.append((document, origin, source))
        else:
            self.problems.append("%s: must hold one container object or {\"containers\": [...]}" % origin)


def read_sources(containers=None, confdir=None, user_data=False, endpoint=DEFAULT_USER_DATA_ENDPOINT, cache=None):
    sources = Sources()
    for index, raw in enumerate(containers or []):
        sources.entries.append((raw, "inline[%d]" % index, INLINE_SOURCE))
    if confdir:
        _read_confdir(sources, confdir)
    if user_data:
        _read_user_data(sources, endpoint, cache)
    return sources


def _read_confdir(sources, confdir):
    if not os.path.isdir(confdir):
        if os.path.normpath(confdir) == DEFAULT_CONFDIR and not os.path.exists(confdir):
            return
        sources.problems.append("%s: confdir does not exist or is not a directory" % confdir)
        return
    for entry in sorted(os.listdir(confdir)):
        path = os.path.join(confdir, entry)
        is_yaml = entry.endswith((".yml", ".yaml"))
        if not (entry.endswith(".json") or is_yaml) or not os.path.isfile(path):
            continue
        if is_yaml and yaml is None:
            sources.problems.append("%s: YAML definitions need the Python package PyYAML (python3-yaml)" % path)
            continue
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
            document = yaml.safe_load(text) if is_yaml else json.loads(text)
        except ValueError as exc:
            sources.problems.append("%s: not valid %s: %s" % (path, "YAML" if is_yaml else "JSON", exc))
            continue
        except YAML_ERRORS as exc:
            sources.problems.append("%s: not valid YAML: %s" % (path, " ".join(str(exc).split())))
            continue
        except OSError as exc:
            sources.problems.append("%s: cannot be read: %s" % (path, exc.strerror or exc))
            continue
        sources.add_document(document, path, path)


def _http(method, url, headers, timeout):
    """``(status, body)`` of one plain HTTP(S) request; OSError when the server cannot be reached."""
    parts = urllib.parse.urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, parts.path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except http.client.HTTPException as exc:
        raise OSError("bad answer from %s: %s" % (url, exc))
    finally:
        connection.close()


def fetch_user_data(endpoint, timeout=IMDS_TIMEOUT):
    """User-data text from the instance metadata service: IMDSv2 (token), falling back to IMDSv1.

    Returns the text, or ``""`` when the instance has no user-data (404). Raises OSError when the
    service cannot be reached or refuses (timeout, connection refused, 401/403/5xx).
    """
    base = endpoint.rstrip("/")
    headers = {}
    status, body = _http("PUT", base + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": IMDS_TOKEN_TTL}, timeout)
    if status == 200:
        headers["X-aws-ec2-metadata-token"] = body.decode("ascii").strip()
    elif status >= 500:
        raise OSError("metadata service answered %d to the token request" % status)
    # else IMDSv1 only (403/404/405): ask without a token
    status, body = _http("GET", base + "/latest/user-data", headers, timeout)
    if status == 404:
        return ""
    if status != 200:
        raise OSError("metadata service answered %d for user-data" % status)
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return body.decode("utf-8")


def _parse_user_data(text):
    """The user-data document if it is one of ours; a reason string otherwise."""
    if text.strip() == "":
        return {"containers": []}, None
    try:
        document = json.loads(text)
    except ValueError:
        return None, "user-data is not JSON"
    if not isinstance(document, dict) or "containers" not in document:
        return None, "user-data has no \"containers\" list"
    return document, None


def _read_user_data(sources, endpoint, cache):
    cached_path = os.path.join(cache, USER_DATA_CACHE) if cache else None
    try:
        text = fetch_user_data(endpoint)
    except (OSError, ValueError) as exc:
        reason = "user-data could not be fetched from %s (%s)" % (endpoint, exc)
        document = None
    else:
        document, reason = _parse_user_data(text)
        if document is not None:
            sources.user_data_text = json.dumps(document, sort_keys=True)
    if document is None:
        document = _read_cached(cached_path)
        if document is None:
            sources.warnings.append(reason + "; no last good copy, user-data containers are left as they are")
            sources.unread.add(USER_DATA_SOURCE)
            return
        sources.warnings.append(reason + "; using the last good copy from %s" % cached_path)
    sources.add_document(document, USER_DATA_SOURCE, USER_DATA_SOURCE)


def _read_cached(path):
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, "r", encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and "containers" in document else None


def store_user_data(cache, text):
    """Keep a good user-data document as the last good copy."""
    write_cache_file(cache, USER_DATA_CACHE, text)


def write_cache_file(cache, name, text):
    """Write ``name`` in the cache dir by atomic replace (mode 0600: user-data may hold secrets)."""
    os.makedirs(cache, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache, prefix="." + name + ".")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, os.path.join(cache, name))


def read_cache_file(cache, name):
    """The text of ``name`` in the cache dir, or None when it cannot be read."""
    try:
        with open(os.path.join(cache, name), "r", encoding="utf-8") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None
