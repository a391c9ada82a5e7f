# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where definitions come from: an inline list, a confdir of JSON (or YAML) files, EC2 user-data.

``read_sources`` returns raw entries (not yet validated) plus what could not be read. A source that
could not be read is not an empty list: its containers are protected from pruning in this run.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from . import bounded

DEFAULT_CONFDIR = "/etc/dockerup/containers.d"
DEFAULT_USER_DATA_ENDPOINT = "http://169.254.169.254"
USER_DATA_SOURCE = "user-data"
INLINE_SOURCE = "inline"
USER_DATA_CACHE = "user-data.json"
IMDS_DEADLINE = 5.0  # seconds for the whole user-data fetch: token, headers and body
IMDS_TOKEN_TTL = "60"
MAX_FILES = 1000  # definition files in a confdir
MAX_CONFDIR_BYTES = 4 * 1024 * 1024  # all definition files of a confdir together
MAX_CONTAINERS = 1000  # container definitions from all sources together


class Sources:
    """Raw entries from every source, in order, and what the run must know about them."""

    def __init__(self):
        self.entries = []  # (raw, origin, source label)
        self.problems = []  # files that cannot be read or parsed: the run fails (with the schema's problems)
        self.warnings = []
        self.unread = set()  # source labels that could not be read now (never prune their containers)
        self.user_data_text = None  # a good user-data document to store as the last good copy
        self.too_many = False  # more than MAX_CONTAINERS entries were offered (a problem)

    def add_document(self, document, origin, source):
        """A document is one container object or ``{"containers": [...]}``."""
        if isinstance(document, dict) and "containers" in document:
            containers = document["containers"]
            if not isinstance(containers, list):
                self.problems.append("%s: containers: must be a list of container definitions" % origin)
                return
            for index, raw in enumerate(containers):
                self.add_entry(raw, "%s: containers[%d]" % (origin, index), source)
        elif isinstance(document, dict):
            self.add_entry(document, origin, source)
        else:
            self.problems.append("%s: must hold one container object or {\"containers\": [...]}" % origin)

    def add_entry(self, raw, origin, source):
        if len(self.entries) < MAX_CONTAINERS:
            self.entries.append((raw, origin, source))
        elif not self.too_many:
            self.too_many = True
            self.problems.append("%s: more than %d container definitions in all sources together" % (origin, MAX_CONTAINERS))


def read_sources(containers=None, confdir=None, user_data=False, endpoint=DEFAULT_USER_DATA_ENDPOINT, cache=None):
    sources = Sources()
    for index, raw in enumerate(containers or []):
        try:
            bounded.check_shape(raw)
        except bounded.InputError as exc:
            sources.problems.append("inline[%d]: %s" % (index, exc))
            continue
        sources.add_entry(raw, "inline[%d]" % index, INLINE_SOURCE)
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
    names = []
    try:
        with os.scandir(confdir) as listing:
            for entry in listing:
                if entry.name.endswith((".json", ".yml", ".yaml")) and not entry.is_dir():
                    names.append(entry.name)
                    if len(names) > MAX_FILES:
                        sources.problems.append("%s: more than %d definition files" % (confdir, MAX_FILES))
                        return
    except OSError as exc:
        sources.problems.append("%s: cannot be listed: %s" % (confdir, exc.strerror or exc))
        return
    total = 0
    for name in sorted(names):
        path = os.path.join(confdir, name)
        kind = "JSON" if name.endswith(".json") else "YAML"
        try:
            data = bounded.read_file(path)
            total += len(data)
            if total > MAX_CONFDIR_BYTES:
                sources.problems.append("%s: the definition files up to this one hold more than %d bytes together" % (path, MAX_CONFDIR_BYTES))
                return
            text = bounded.decode(data)
            document = bounded.parse_json(text) if kind == "JSON" else bounded.parse_yaml(text)
        except bounded.InputError as exc:
            sources.problems.append("%s: %s" % (path, exc))
            continue
        except OSError as exc:  # a dangling symlink too: its containers must not be pruned
            sources.problems.append("%s: cannot be read: %s" % (path, exc.strerror or exc))
            continue
        sources.add_document(document, path, path)


def fetch_user_data(endpoint, deadline=IMDS_DEADLINE):
    """User-data text from the instance metadata service: IMDSv2 (token), falling back to IMDSv1.

    Returns the text, or ``""`` when the instance has no user-data (404). Raises OSError when the
    service cannot be reached or refuses (timeout, connection refused, 401/403/5xx), or when the
    whole exchange takes more than ``deadline`` seconds or its answer is larger than the limit.
    """
    base = endpoint.rstrip("/")
    ends = time.monotonic() + deadline
    headers = {}
    status, body = bounded.http_request(
        "PUT", base + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": IMDS_TOKEN_TTL}, ends, limit=4096)
    if status == 200:
        headers["X-aws-ec2-metadata-token"] = body.decode("ascii", "replace").strip()
    elif status >= 500:
        raise OSError("metadata service answered %d to the token request" % status)
    # else IMDSv1 only (403/404/405): ask without a token
    status, body = bounded.http_request("GET", base + "/latest/user-data", headers, ends)
    if status == 404:
        return ""
    if status != 200:
        raise OSError("metadata service answered %d for user-data" % status)
    try:
        if body[:2] == b"\x1f\x8b":
            body = bounded.gunzip(body)
        return bounded.decode(body)
    except bounded.InputError as exc:
        raise OSError("user-data is %s" % exc)


def _parse_user_data(text):
    """The user-data document if it is one of ours; a reason string otherwise."""
    if text.strip() == "":
        return {"containers": []}, None
    try:
        document = bounded.parse_json(text)
    except bounded.NotJSON:
        return None, "user-data is not JSON"
    except bounded.InputError as exc:
        return None, "user-data is %s" % exc
    if not isinstance(document, dict) or "containers" not in document:
        return None, "user-data has no \"containers\" list"
    return document, None


def _read_user_data(sources, endpoint, cache):
    cached_path = os.path.join(cache, USER_DATA_CACHE) if cache else None
    try:
        text = fetch_user_data(endpoint)
    except OSError as exc:
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
    if not path:
        return None
    try:
        document = bounded.read_json(path)
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and "containers" in document else None


def store_user_data(cache, text):
    """Keep a good user-data document as the last good copy."""
    write_cache_file(cache, USER_DATA_CACHE, text)


def write_cache_file(cache, name, text):
    """Write ``name`` in the cache dir by atomic replace (mode 0600: user-data may hold secrets)."""
    os.makedirs(cache, exist_ok=True)
    atomic_write(os.path.join(cache, name), text, 0o600)


def read_cache_file(cache, name):
    """The text of ``name`` in the cache dir, or None when it cannot be read."""
    try:
        return bounded.read_text(os.path.join(cache, name))
    except (OSError, ValueError):
        return None


def atomic_write(path, text, mode=0o644):
    """Write ``path`` by a rename of a temporary file in the same directory: a reader sees the old file or
    the new one, never a part. The temporary name starts with a dot and does not end like ``path``
    (node_exporter's textfile collector reads only ``*.prom``)."""
    directory, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
