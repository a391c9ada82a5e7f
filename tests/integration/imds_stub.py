"""Tiny stand-in for the EC2 instance metadata service (IMDS), for tests. Stdlib only, Python 3.9+.

Serves only what user-data retrieval needs, on 127.0.0.1:

* ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds: N`` (1..21600) -> 200, a token
  as text (400 without a valid TTL header).
* ``GET /latest/user-data`` with ``X-aws-ec2-metadata-token: TOKEN`` -> 200 and the user-data body;
  401 when the token is missing, unknown or expired.

Behaviour comes from a JSON state file that is re-read on every request, so a test changes it by
rewriting the file (write a temporary file and rename it over the old one)::

    {"mode": "ok", "body": "#cloud-config\\n..."}

``mode``:
  ``ok``       IMDSv2 as above; user-data answers 200 with ``body``.
  ``missing``  IMDSv2; user-data answers 404 (an instance without user-data).
  ``error``    500 on every request.
  ``hang``     every request is accepted, then answered only after ``hang_seconds`` (default 30,
               bounded to 300) as in ``ok``; other requests are served meanwhile (threading server).
               Optional ``"hang_on": "all" | "token" | "user-data"`` (default ``all``).
  ``v1only``   IMDSv1 only: ``PUT /latest/api/token`` answers 403; user-data answers 200 with ``body``
               without any token.
  ``stream``   IMDSv2; user-data answers 200 without a length and streams ``{"containers": [`` then
               ``{},`` without end (until the client goes, the stub stops, or ``hang_seconds``).
  ``trickle``  IMDSv2; user-data answers 200 and sends one byte of ``body`` every 0.2 s (a slow
               server that never trips a per-read timeout), for ``hang_seconds`` at most.
A missing state file means ``missing``; an unreadable one is retried briefly, then means ``error``.
Other paths answer 404.

Command line::

    python3 imds_stub.py --port 8169 --state-file /tmp/x/state.json [--pid-file F]

Logs one line per request to stderr. SIGTERM/SIGINT stop it and remove its pid file (written once the
port is bound). Import use::

    stub = ImdsStub(state_file, port=0).start()   # port 0: a free port; see stub.port / stub.url
    ...
    stub.stop()
"""

import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "missing", "error", "hang", "v1only", "stream", "trickle")
TOKEN_PATH = "/latest/api/token"
USER_DATA_PATH = "/latest/user-data"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_HANG = 300.0


def log(msg):
    try:
        sys.stderr.write("imds_stub: %s\n" % msg)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def read_state(path):
    """Return the state dict; ``{"mode": "missing"}`` without a file, ``{"mode": "error"}`` if unreadable."""
    if not path:
        return {"mode": "missing"}
    for attempt in range(5):
        try:
            with open(path, encoding="utf-8") as handle:
                state = json.load(handle)
            if not isinstance(state, dict) or state.get("mode", "ok") not in MODES:
                raise ValueError("bad state: %r" % (state,))
            state.setdefault("mode", "ok")
            return state
        except FileNotFoundError:
            return {"mode": "missing"}
        except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
            if attempt == 4:
                log("unreadable state file %s: %s" % (path, exc))
                return {"mode": "error"}
            time.sleep(0.02)  # maybe half-written by a test; try again
    return {"mode": "error"}


class Handler(BaseHTTPRequestHandler):
    server_version = "EC2ws"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log("%s %s" % (self.address_string(), format % args))

    def _send(self, status, body="", headers=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeouts in hang mode)

    def _path(self):
        return self.path.split("?", 1)[0]

    def _hang(self, state, target):
        if state["mode"] != "hang" or state.get("hang_on", "all") not in ("all", target):
            return
        try:
            seconds = min(float(state.get("hang_seconds", 30)), MAX_HANG)
        except (TypeError, ValueError):
            seconds = 30.0
        self.server.stopping.wait(max(seconds, 0.0))

    def _token_ok(self):
        token = self.headers.get(TOKEN_HEADER)
        if not token:
            return False
        with self.server.lock:
            expires = self.server.tokens.get(token)
        return expires is not None and expires > time.monotonic()

    def _drain(self):
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > 0:
            self.rfile.read(min(int(length), 65536))

    def do_PUT(self):  # pylint: disable=invalid-name
        self._drain()
        state = read_state(self.server.state_file)
        path = self._path()
        target = "token" if path == TOKEN_PATH else "other"
        self._hang(state, target)
        if state["mode"] == "error":
            return self._send(500, "Internal Server Error\n")
        if path != TOKEN_PATH:
            return self._send(405, "Method Not Allowed\n")
        if state["mode"] == "v1only":
            return self._send(403, "Forbidden\n")
        ttl = self.headers.get(TTL_HEADER, "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._send(400, "Bad Request\n")
        token = "stub-" + secrets.token_urlsafe(24)
        with self.server.lock:
            now = time.monotonic()
            for old in [key for key, exp in self.server.tokens.items() if exp <= now]:
                del self.server.tokens[old]
            self.server.tokens[token] = now + int(ttl)
        return self._send(200, token, {TTL_HEADER: ttl})

    def do_GET(self):  # pylint: disable=invalid-name
        state = read_state(self.server.state_file)
        path = self._path()
        self._hang(state, "user-data" if path == USER_DATA_PATH else "other")
        mode = state["mode"]
        if mode == "error":
            return self._send(500, "Internal Server Error\n")
        if path == TOKEN_PATH:
            return self._send(405, "Method Not Allowed\n")
        if mode != "v1only" and not self._token_ok():
            return self._send(401, "Unauthorized\n")
        if path != USER_DATA_PATH or mode == "missing":
            return self._send(404, "Not Found\n")
        if mode in ("stream", "trickle"):
            return self._send_slowly(state)
        return self._send(200, str(state.get("body", "")))

    def _send_slowly(self, state):
        """``stream``: bytes without end, as fast as the client takes them; ``trickle``: a byte of the
        body every 0.2 s. Both end after ``hang_seconds`` (bounded to MAX_HANG) or when the client goes."""
        try:
            ends = time.monotonic() + min(float(state.get("hang_seconds", 30)), MAX_HANG)
        except (TypeError, ValueError):
            ends = time.monotonic() + 30.0
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            if state["mode"] == "stream":
                self.wfile.write(b'{"containers": [')
                chunk = b"{}," * 20000
                while time.monotonic() < ends and not self.server.stopping.is_set():
                    self.wfile.write(chunk)
            else:
                for byte in str(state.get("body", "")).encode("utf-8") * 1000:
                    if time.monotonic() >= ends or self.server.stopping.wait(0.2):
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_HEAD(self):  # pylint: disable=invalid-name
        return self.do_GET()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state_file):
        self.state_file = state_file
        self.tokens = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        super().__init__(address, Handler)


class ImdsStub:
    """In-process use: ``ImdsStub(state_file, port=0).start()``, then ``.url``, ``.port``, ``.stop()``."""

    def __init__(self, state_file, port=0, host="127.0.0.1"):
        self.server = Server((host, port), state_file)
        self.host, self.port = self.server.server_address[:2]
        self.url = "http://%s:%d" % (self.host, self.port)
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self.server.serve_forever, name="imds-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.server.stopping.set()  # wakes requests sleeping in hang mode
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _write_pid_file(path):
    tmp = "%s.%d.tmp" % (path, os.getpid())
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write("%d\n" % os.getpid())
    os.replace(tmp, path)


def _remove_pid_file(path):
    try:
        with open(path, encoding="ascii") as handle:
            if handle.read().strip() != str(os.getpid()):
                return  # another instance owns it now
        os.unlink(path)
    except OSError:
        pass


def main(argv=None):
    parser = argparse.ArgumentParser(description="EC2 instance metadata stand-in for tests (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=8169)
    parser.add_argument("--state-file", default=None, help="JSON state file, re-read on every request")
    parser.add_argument("--pid-file", default=None, help="written once the port is bound, removed on exit")
    args = parser.parse_args(argv)

    def _terminate(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # survive the starting shell's exit

    try:
        server = Server(("127.0.0.1", args.port), args.state_file)
    except OSError as exc:
        log("cannot bind 127.0.0.1:%d: %s" % (args.port, exc))
        return 1
    if args.pid_file:
        _write_pid_file(args.pid_file)
    log("listening on http://127.0.0.1:%d (pid %d, state %s)" % (args.port, os.getpid(), args.state_file))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        server.server_close()
        if args.pid_file:
            _remove_pid_file(args.pid_file)
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
