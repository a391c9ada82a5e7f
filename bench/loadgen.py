"""A small bounded HTTP load generator for availability measurements (bench/availability.py and the
integration tests).

It sends GET requests to http://127.0.0.1:PORT/ at a fixed rate (default 100 per second, a new TCP
connection each, as most clients of a proxy do), from a fixed pool of threads, and counts every
answer by kind: ``ok`` (2xx), ``http_5xx`` (or any other status), ``refused``, ``reset``, ``timeout``,
``other``. It also records the longest gap without a successful answer (from the start, between two
successes, and to the end) and which page bodies were seen (the app under test says its version).

Bounded by construction: 127.0.0.1 only, at most ``--rate`` requests a second (capped at 500), at most
``--max-seconds`` (capped at 1800), and it stops early when ``--stop-file`` appears. The result is one
JSON document on stdout (or in ``--out``), written when it stops (also on SIGTERM/SIGINT).

    python3 bench/loadgen.py --port 8080 --stop-file /tmp/stop --max-seconds 300 --out result.json
"""

from __future__ import annotations

import argparse
import errno
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time

KINDS = ("ok", "http_5xx", "http_other", "refused", "reset", "timeout", "other")


class Stats:
    def __init__(self, start):
        self.lock = threading.Lock()
        self.start = start
        self.counts = dict.fromkeys(KINDS, 0)
        self.last_ok = start
        self.longest_gap = 0.0
        self.gap_at = None  # seconds from the start at which the longest gap began
        self.bodies = {}
        self.failures = []  # first failures: [seconds from start, kind, detail]
        self.slowest = 0.0

    def record(self, kind, sent, done, detail="", body=None):
        with self.lock:
            self.counts[kind] += 1
            self.slowest = max(self.slowest, done - sent)
            if kind == "ok":
                # A success ends the gap at the moment its answer arrived; the gap is measured between
                # answers, so a slow success does not hide the time nothing succeeded.
                if done > self.last_ok:
                    gap = done - self.last_ok
                    if gap > self.longest_gap:
                        self.longest_gap, self.gap_at = gap, self.last_ok - self.start
                    self.last_ok = done
                if body is not None:
                    self.bodies[body] = self.bodies.get(body, 0) + 1
            elif len(self.failures) < 50:
                self.failures.append([round(sent - self.start, 3), kind, detail[:200]])

    def finish(self, end):
        with self.lock:
            gap = end - self.last_ok
            if gap > self.longest_gap:
                self.longest_gap, self.gap_at = gap, self.last_ok - self.start


def classify(exc):
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                        http.client.IncompleteRead, http.client.BadStatusLine)):
        return "reset"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED,):
        return "refused"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return "reset"
    return "other"


def one_request(port, path, timeout):
    """(kind, detail, body) of one GET on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        body = response.read(4096).decode("utf-8", "replace").strip()
        if 200 <= response.status < 300:
            return "ok", "", body[:80]
        kind = "http_5xx" if response.status >= 500 else "http_other"
        return kind, "HTTP %d %s" % (response.status, body[:80]), None
    except Exception as exc:  # pylint: disable=broad-except
        return classify(exc), "%s: %s" % (type(exc).__name__, exc), None
    finally:
        conn.close()


def run(port, rate, max_seconds, stop_file=None, path="/", timeout=5.0, threads=None, stop_event=None):
    """Send requests until ``max_seconds``, ``stop_file`` or ``stop_event``; returns the result dict.
    ``path``: one path, or a list of paths asked in turn."""
    paths = [path] if isinstance(path, str) else list(path)
    rate = max(1.0, min(float(rate), 500.0))
    max_seconds = max(0.1, min(float(max_seconds), 1800.0))
    threads = threads or max(4, min(64, int(rate * timeout / 4) or 4))
    stop_event = stop_event or threading.Event()
    start = time.monotonic()
    stats = Stats(start)
    ticket = [0]
    ticket_lock = threading.Lock()
    interval = 1.0 / rate
    late = [0]

    def worker():
        while not stop_event.is_set():
            with ticket_lock:
                k = ticket[0]
                ticket[0] += 1
            due = start + k * interval
            now = time.monotonic()
            if due > now:
                if stop_event.wait(due - now):
                    return
            elif now - due > 1.0:
                with ticket_lock:
                    late[0] += 1
            if stop_event.is_set():
                return
            sent = time.monotonic()
            asked = paths[k % len(paths)]
            kind, detail, body = one_request(port, asked, timeout)
            stats.record(kind, sent, time.monotonic(), "%s %s" % (asked, detail) if detail else detail, body)

    def watcher():
        while not stop_event.is_set():
            if time.monotonic() - start >= max_seconds or (stop_file and os.path.exists(stop_file)):
                stop_event.set()
                return
            stop_event.wait(0.05)

    pool = [threading.Thread(target=worker, daemon=True) for _index in range(threads)]
    watch = threading.Thread(target=watcher, daemon=True)
    watch.start()
    for thread in pool:
        thread.start()
    watch.join()
    for thread in pool:
        thread.join(timeout + 1)
    end = time.monotonic()
    stats.finish(end)
    failed = sum(v for k, v in stats.counts.items() if k != "ok")
    return {
        "port": port,
        "paths": paths,
        "rate": rate,
        "seconds": round(end - start, 3),
        "requests": sum(stats.counts.values()),
        "failed": failed,
        "counts": stats.counts,
        "longest_gap": round(stats.longest_gap, 3),
        "longest_gap_at": None if stats.gap_at is None else round(stats.gap_at, 3),
        "slowest": round(stats.slowest, 3),
        "late_by_over_1s": late[0],
        "bodies": stats.bodies,
        "failures": stats.failures,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--path", action="append", help="path to ask (repeat: asked in turn; default /)")
    parser.add_argument("--rate", type=float, default=100.0, help="requests a second (at most 500)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before a request counts as a timeout")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop after this long (at most 1800)")
    parser.add_argument("--stop-file", help="stop as soon as this file exists")
    parser.add_argument("--ready-file", help="created once the generator runs")
    parser.add_argument("--out", help="write the JSON result here (default stdout)")
    args = parser.parse_args(argv)
    stop_event = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop_event.set())
    if args.ready_file:
        with open(args.ready_file, "w"):
            pass
    result = run(args.port, args.rate, args.max_seconds, args.stop_file, args.path or "/", args.timeout, stop_event=stop_event)
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        with open(args.out + ".tmp", "w") as handle:
            handle.write(text + "\n")
        os.replace(args.out + ".tmp", args.out)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
