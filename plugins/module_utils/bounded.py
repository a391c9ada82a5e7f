# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Outside input read within fixed limits: size, nesting depth, node count and time.

Everything dockerup reads from files, user-data or the network goes through here, so that one bad
input costs a host a clean error (``InputError``, a sentence naming no content), never its memory or
its time. The limits are documented in the README ("Limits").
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import stat
import time
import urllib.parse
import zlib

try:
    import yaml
except ImportError:
    yaml = None
else:
    _YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 1024 * 1024  # one definition file, the config file, user-data (EC2's own limit is 16 KiB)
MAX_DEPTH = 32  # nesting of arrays and objects in one document (a definition needs 5)
MAX_NODES = 100000  # arrays, objects and scalars of one document, YAML aliases counted as expanded


class InputError(ValueError):
    """The input is beyond a limit or cannot be parsed. The text quotes nothing of the input."""


class TooLarge(InputError):
    """The input is larger than its limit."""


class NotJSON(InputError):
    """The text is not JSON (a syntax error, not a limit)."""


def read_file(path, limit=MAX_FILE_BYTES, devices=False):
    """The bytes of a regular file (with ``devices``, also a character device such as /dev/null) of at
    most ``limit`` bytes. Never blocks on a FIFO or a device.

    Raises InputError for what is not such a file, TooLarge beyond ``limit``, OSError when it cannot be read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not (stat.S_ISREG(mode) or (devices and stat.S_ISCHR(mode))):
            raise InputError("not a regular file")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise TooLarge("more than the limit of %d bytes" % limit)
    return data


def read_text(path, limit=MAX_FILE_BYTES, devices=False):
    """The UTF-8 text of ``path``, read as ``read_file`` does."""
    return decode(read_file(path, limit, devices))


def read_json(path, limit=MAX_FILE_BYTES):
    """The JSON document in ``path``, read as ``read_file`` does and checked as ``parse_json`` does."""
    return parse_json(read_text(path, limit))


def decode(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text (byte %d)" % exc.start)


def parse_json(text):
    try:
        document = json.loads(text)
    except RecursionError:
        raise InputError("nested deeper than %d levels" % MAX_DEPTH)
    except ValueError as exc:  # the message gives line and column, never the text
        raise NotJSON("not valid JSON: %s" % exc)
    check_shape(document)
    return document


def parse_yaml(text):
    """Safe YAML (no tags that run code) whose nesting is checked on the event stream before any
    node is built, and whose size counts every alias as the nodes it expands to ("billion laughs")."""
    if yaml is None:
        raise InputError("YAML definitions need the Python package PyYAML (python3-yaml)")
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise InputError("nested deeper than %d levels" % MAX_DEPTH)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        document = yaml.load(text, Loader=_YAML_LOADER)  # nosec B506: a safe loader
    except yaml.MarkedYAMLError as exc:  # its text quotes the input: give only the problem and where
        if "nesting depth" in str(exc.problem):  # libyaml 0.2.5's own limit (1000), met before ours
            raise InputError("nested deeper than %d levels" % MAX_DEPTH)
        mark = exc.problem_mark or exc.context_mark
        where = " (line %d, column %d)" % (mark.line + 1, mark.column + 1) if mark else ""
        raise InputError("not valid YAML: %s%s" % (exc.problem or exc.context or "syntax error", where))
    except InputError:
        raise
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        raise InputError("not valid YAML: %s" % type(exc).__name__)
    check_shape(document)
    return document


def check_shape(document):
    """InputError when ``document`` nests deeper than MAX_DEPTH or holds more than MAX_NODES nodes.

    Shared subtrees (YAML aliases) are measured once but counted as often as they appear, so the
    check costs the size of the file while it bounds what later steps (validation, hashing, JSON
    dumps) would walk.
    """
    measured = {}  # id(container) -> (nodes, height)

    def measure(value, depth):
        if not isinstance(value, (dict, list)):
            return 1, 0
        if depth > MAX_DEPTH:
            raise InputError("nested deeper than %d levels" % MAX_DEPTH)
        known = measured.get(id(value))
        if known is None:
            nodes, height = 1, 0
            for child in (value.values() if isinstance(value, dict) else value):
                child_nodes, child_height = measure(child, depth + 1)
                nodes += child_nodes
                height = max(height, child_height + 1)
                if nodes > MAX_NODES:
                    raise InputError("more than %d values (YAML aliases count as what they repeat)" % MAX_NODES)
            known = measured[id(value)] = (nodes, height)
        if depth + known[1] > MAX_DEPTH:
            raise InputError("nested deeper than %d levels" % MAX_DEPTH)
        return known

    measure(document, 0)


def gunzip(data, limit=MAX_FILE_BYTES):
    """Decompress gzip ``data`` to at most ``limit`` bytes (a small body can expand without end)."""
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise InputError("not valid gzip: %s" % exc)
    if len(out) > limit or inflater.unconsumed_tail:
        raise InputError("more than %d bytes once decompressed" % limit)
    return out


class _Deadline:
    """A socket whose every send and receive gives up when one deadline for the whole exchange has
    passed, however slowly the server trickles its bytes."""

    def __init__(self, sock, deadline):
        self._sock = sock
        self._deadline = deadline

    def _arm(self):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self._sock.settimeout(left)

    def sendall(self, data):
        self._arm()
        return self._sock.sendall(data)

    def recv_into(self, buffer, nbytes=0):
        self._arm()
        return self._sock.recv_into(buffer, nbytes)

    def makefile(self, mode="rb", buffering=None, **_kwargs):
        return io.BufferedReader(_Reader(self))

    def close(self):
        """Left to ``http_request``: http.client closes the connection before the body is read."""

    def __getattr__(self, name):
        return getattr(self._sock, name)


class _Reader(io.RawIOBase):
    def __init__(self, sock):
        super().__init__()
        self._sock = sock

    def readable(self):
        return True

    def readinto(self, buffer):
        return self._sock.recv_into(buffer)


class _Connection(http.client.HTTPConnection):
    def __init__(self, host, port, deadline):
        super().__init__(host, port, timeout=max(0.001, deadline - time.monotonic()))
        self._deadline = deadline
        self.raw_sock = None  # the real socket, closed by http_request (see _Deadline.close)

    def connect(self):
        super().connect()
        self.raw_sock = self.sock
        self.sock = _Deadline(self.sock, self._deadline)


def http_request(method, url, headers, deadline, limit=MAX_FILE_BYTES):
    """``(status, body)`` of one plain-HTTP request, all of it (connect, headers, body of at most
    ``limit`` bytes) done by ``deadline`` (a ``time.monotonic()`` value). OSError otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise OSError("only http:// is supported for %s" % url)
    connection = _Connection(parts.hostname, parts.port, deadline)
    try:
        connection.request(method, parts.path or "/", headers=headers)
        response = connection.getresponse()
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            raise OSError("the answer from %s is %s bytes, more than the limit of %d" % (url, length, limit))
        body = response.read(limit + 1)
        if len(body) > limit:
            raise OSError("the answer from %s is more than the limit of %d bytes" % (url, limit))
        return response.status, body
    except socket.timeout:
        raise OSError("no answer from %s within the deadline" % url)
    except (http.client.HTTPException, ValueError) as exc:
        raise OSError("bad answer from %s: %s" % (url, type(exc).__name__))
    finally:
        connection.close()
        if connection.raw_sock is not None:
            connection.raw_sock.close()
