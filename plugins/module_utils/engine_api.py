# Copyright: dockerup developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small read-only Docker Engine API client on the standard library.

Observing the engine (list, inspect, registry digest) is all a no-op or check-mode run does; this
client does it without importing docker-py (and requests), which costs more than the observation
itself. Changes go through docker-py (see observe.connect_docker). Method names and return values
follow docker-py's low-level ``APIClient`` so either can serve the observer.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import urllib.parse


class ApiError(OSError):
    """The engine answered with an error, or could not be reached."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status
        self.explanation = message


class ApiNotFound(ApiError):
    pass


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def supported(address):
    """True for the addresses this client can serve: unix sockets and plain tcp/http."""
    scheme = urllib.parse.urlsplit(address).scheme
    return scheme in ("unix", "tcp", "http")


class ReadClient:
    def __init__(self, address, timeout=60):
        self.base_url = address
        self.timeout = timeout
        parts = urllib.parse.urlsplit(address)
        if parts.scheme == "unix":
            self._connect = lambda: _UnixConnection(parts.path, timeout)
        else:
            self._connect = lambda: http.client.HTTPConnection(parts.hostname, parts.port or 2375, timeout=timeout)
        # http.client connections are not thread-safe and the observer inspects from a pool of
        # threads: one kept-alive connection per thread, all closed by close().
        self._local = threading.local()
        self._opened = []
        self._lock = threading.Lock()

    def _connection(self):
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect()
            with self._lock:
                self._opened.append(connection)
        return connection

    def _drop(self):
        """Close this thread's connection after an error; the next request opens a new one."""
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def _get(self, path, query=None, headers=None):
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        for attempt in (1, 2):  # a kept-alive connection the daemon closed is retried once
            connection = self._connection()
            try:
                connection.request("GET", url, headers=headers or {})
                response = connection.getresponse()
                body = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                if attempt == 2 or isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
                    raise ApiError("cannot reach the Docker engine at %s: %s" % (self.base_url, exc))
        if response.status == 404:
            raise ApiNotFound(_message(body) or "not found", 404)
        if response.status >= 400:
            raise ApiError(_message(body) or "HTTP %d" % response.status, response.status)
        return json.loads(body.decode("utf-8")) if body else None

    def close(self):
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._local = threading.local()

    # -- the calls the observer makes, named as in docker-py ---------------------------------------
    def version(self):
        return self._get("/version")

    def containers(self, all=False):  # pylint: disable=redefined-builtin
        return self._get("/containers/json", {"all": "1" if all else "0"})

    def inspect_container(self, container):
        return self._get("/containers/%s/json" % urllib.parse.quote(container, safe=""))

    def inspect_image(self, image):
        return self._get("/images/%s/json" % urllib.parse.quote(image, safe="/:@"))

    def inspect_distribution(self, image, auth_config=None):
        headers = {}
        if auth_config:
            headers["X-Registry-Auth"] = base64.urlsafe_b64encode(json.dumps(auth_config).encode("utf-8")).decode("ascii")
        return self._get("/distribution/%s/json" % urllib.parse.quote(image, safe="/:@"), headers=headers)

    def networks(self, names=None):
        query = {"filters": json.dumps({"name": list(names)})} if names else None
        return self._get("/networks", query)

    def volumes(self):
        return self._get("/volumes")


def _message(body):
    try:
        return json.loads(body.decode("utf-8")).get("message", "").strip()
    except (ValueError, AttributeError, UnicodeDecodeError):
        return body.decode("utf-8", "replace").strip()[:500]
