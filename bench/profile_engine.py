"""Where the module's time goes: the engine (``module_utils.engine.converge``) timed alone, in-process,
without Ansible, on the bench's own containers (scope ``dubench``, names ``dubench-mod-NN``).

For each scenario (first converge, no-op, check no-op, one env var changed) it reports the wall time of
``converge`` split into its phases (read sources, validate, observe, plan, apply, final inspect, report)
and the Docker API calls made (count and summed latency per endpoint). ``--pool`` re-runs the first
converge with other sizes of the engine's worker pool (``observe.POOL_SIZE``, patched in this process
only; the engine's code is not changed). ``--imports`` prints the import cost of the engine.

Usage (after bench/run.sh has prepared the machine once):
  source scripts/env.sh && python3 bench/profile_engine.py --n 40 --reps 3 --pool 8,16,40
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
# The snapshot bench/run.sh measured (bench/.work/collections), else the live checkout.
SNAPSHOT = os.path.join(HERE, ".work", "collections")
COLLECTIONS = SNAPSHOT if os.path.isdir(os.path.join(SNAPSHOT, "ansible_collections")) else os.path.join(ROOT, "build", "collections")
sys.path.insert(0, COLLECTIONS)

import bench  # noqa: E402  (the bench's own definitions and cleanup)

T0 = time.perf_counter()
from ansible_collections.dockerup.bootstrap.plugins.module_utils import engine  # noqa: E402
IMPORT_SECONDS = time.perf_counter() - T0
BEFORE_DOCKER = set(sys.modules)  # what importing the engine pulled in (before this script imports docker)
from ansible_collections.dockerup.bootstrap.plugins.module_utils import observe  # noqa: E402
import docker  # noqa: E402

# Phases of converge, timed by wrapping these functions (those that exist in the measured version;
# the engine's internals change, so a missing one is reported and skipped).
PHASES = [
    ("sources", "sources.read_sources"),
    ("validate", "schema.validate"),
    ("connect", "observe.connect"),
    ("observe", "observe.observe"),
    ("plan", "plan.plan_actions"),
    ("apply", "apply.apply_plan"),
    ("apply", "apply.Applier.apply"),
    ("final_inspect", "_final_state"),
    ("report", "report.build_report"),
]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.phases = collections.OrderedDict()
        self.calls = collections.defaultdict(lambda: [0, 0.0])

    def phase(self, name, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    def call(self, method, url, seconds, tag=""):
        if os.environ.get("BENCH_PROFILE_URLS"):
            print("   url:", method, url, tag)
        path = url.split("/v1.", 1)[-1].split("/", 1)[-1] if "/v1." in url else url
        path = path.split("?", 1)[0].lstrip("/")
        parts = path.split("/")
        # containers/<id>/start -> containers/{id}/start
        if len(parts) >= 2 and parts[0] in ("containers", "images", "distribution") and parts[1] not in ("json", "create"):
            parts[1] = "{id}"
            path = "/".join(parts[:2] + parts[2:])
        if parts[0] == "images" and len(parts) > 2:
            path = "images/{ref}/" + parts[-1]
        with self.lock:
            entry = self.calls["%s %s%s" % (method, path, tag)]
            entry[0] += 1
            entry[1] += seconds


REC = Recorder()


def instrument():
    import importlib
    package = engine.__name__.rsplit(".", 1)[0]
    for name, dotted in PHASES:
        *path, attr = dotted.split(".")
        try:
            if path:  # the engine may import some modules lazily: import them by name
                owner = importlib.import_module("%s.%s" % (package, path[0]))
                for part in path[1:]:
                    owner = getattr(owner, part)
            else:
                owner = engine
            function = getattr(owner, attr)
        except (ImportError, AttributeError):
            continue
        setattr(owner, attr, REC.phase(name, function))
    original = docker.APIClient.send

    def send(self, request, **kwargs):
        start = time.perf_counter()
        try:
            return original(self, request, **kwargs)
        finally:
            REC.call(request.method, request.url, time.perf_counter() - start)
    docker.APIClient.send = send
    # The engine's own standard-library read client, in versions that have one (reads of no-op runs).
    try:
        from ansible_collections.dockerup.bootstrap.plugins.module_utils import engine_api
    except ImportError:
        return
    get = engine_api.ReadClient._get

    def _get(self, path, *args, **kwargs):
        start = time.perf_counter()
        try:
            return get(self, path, *args, **kwargs)
        finally:
            REC.call("GET", path, time.perf_counter() - start, " [stdlib client]")
    engine_api.ReadClient._get = _get


MIN_READY = None  # --min-ready: update.minReadySeconds for every definition (None = the engine's default)
PULL = False  # as in bench/playbooks/module.yml; --pull sets the module's default (true)


def definitions(n, rev):
    path = bench.write_inputs("module", n, rev)
    with open(path) as handle:
        data = json.load(handle)
    if MIN_READY is not None:
        for definition in data["bench_containers"]:
            definition.setdefault("update", {})["minReadySeconds"] = MIN_READY
    return data["bench_containers"], data["bench_scope"], data["bench_cache"]


def one(n, rev, check=False):
    containers, scope, cache = definitions(n, rev)
    REC.reset()
    start = time.perf_counter()
    result = engine.converge(containers=containers, scope=scope, cache=cache, check_mode=check, pull=PULL)
    total = time.perf_counter() - start
    if result["errors"]:
        raise SystemExit("converge errors: %s" % result["errors"])
    return {
        "total": total,
        "phases": dict(REC.phases),
        "calls": {k: {"count": v[0], "seconds": round(v[1], 4)} for k, v in sorted(REC.calls.items())},
        "actions": collections.Counter(a["action"] for a in result["actions"]),
    }


def show(title, runs):
    print("\n== %s (median of %d)" % (title, len(runs)))
    print("  total            %7.3f s" % statistics.median(r["total"] for r in runs))
    for name in dict.fromkeys(name for name, dummy in PHASES):
        values = [r["phases"].get(name, 0.0) for r in runs]
        if any(values):
            print("  %-16s %7.3f s" % (name, statistics.median(values)))
    print("  actions: %s" % dict(runs[-1]["actions"]))
    print("  Docker API calls (last run): count, summed latency (threads overlap)")
    for key, value in sorted(runs[-1]["calls"].items(), key=lambda kv: -kv[1]["seconds"]):
        print("    %-42s %4d  %7.3f s" % (key, value["count"], value["seconds"]))


def scenario_runs(n, reps, pool, wanted):
    observe.POOL_SIZE = pool
    out = collections.defaultdict(list)
    rev = 0
    if "first" in wanted:
        for dummy in range(reps):
            bench.cleanup()
            out["first"].append(one(n, rev))
    else:
        bench.cleanup()
        one(n, rev)  # untimed: the other scenarios start from the converged state
    for dummy in range(reps if "noop" in wanted else 0):
        out["noop"].append(one(n, rev))
    for dummy in range(reps if "check" in wanted else 0):
        out["check"].append(one(n, rev, check=True))
    for dummy in range(reps if "env" in wanted else 0):
        rev += 1
        out["env"].append(one(n, rev))
    bench.cleanup()
    return out


def raw_engine_first(n, reps, workers):
    """The floor: create+start the same N containers straight through docker-py, `workers` at a time."""
    containers, scope, cache = definitions(n, 0)
    api = docker.APIClient(version="auto")
    times = []
    for dummy in range(reps):
        bench.cleanup()

        def make(d):
            host_config = api.create_host_config(
                port_bindings={80: ("127.0.0.1", d["portMappings"][0]["hostPort"])},
                binds=["%s:/www:ro" % d["volumes"][0]["hostPath"]],
                restart_policy={"Name": d["restart"]}, init=True)
            created = api.create_container(d["image"], d["command"].split(), name=d["name"],
                                           environment=d["env"], ports=[80], host_config=host_config,
                                           labels=d["labels"])
            api.start(created["Id"])

        from concurrent.futures import ThreadPoolExecutor
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(make, containers))
        times.append(time.perf_counter() - start)
    bench.cleanup()
    api.close()
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--pool", default="", help="also time the first converge with these pool sizes, e.g. 8,16,40")
    parser.add_argument("--min-ready", type=float, default=None,
                        help="set update.minReadySeconds on every definition (default: leave the engine's default)")
    parser.add_argument("--pull", action="store_true", help="pull: true (the module's default) instead of the bench's false")
    parser.add_argument("--scenarios", default="first,noop,check,env")
    parser.add_argument("--raw", default="", help="also time a bare docker-py create+start with these worker counts")
    args = parser.parse_args()
    global MIN_READY, PULL
    MIN_READY, PULL = args.min_ready, args.pull
    instrument()
    print("engine from %s" % engine.__file__)
    print("engine import: %.3f s (docker-py imported at engine import: %s; jsonschema: %s)" % (
        IMPORT_SECONDS, "docker.api" in BEFORE_DOCKER, "jsonschema" in BEFORE_DOCKER))
    print("engine pool size as shipped: %d" % observe.POOL_SIZE)
    shipped = observe.POOL_SIZE
    try:
        wanted = [s for s in args.scenarios.split(",") if s]
        runs = scenario_runs(args.n, args.reps, shipped, wanted)
        for scenario in wanted:
            show("N=%d %s, pool %d" % (args.n, scenario, shipped), runs[scenario])
        for size in [int(x) for x in args.pool.split(",") if x]:
            observe.POOL_SIZE = size
            firsts = []
            for dummy in range(args.reps):
                bench.cleanup()
                firsts.append(one(args.n, 0))
            print("\nN=%d first converge with pool %d: median %.3f s (apply %.3f s)" % (
                args.n, size, statistics.median(r["total"] for r in firsts),
                statistics.median(r["phases"].get("apply", 0) for r in firsts)))
        for workers in [int(x) for x in args.raw.split(",") if x]:
            print("N=%d bare docker-py create+start, %d workers: median %.3f s" % (
                args.n, workers, raw_engine_first(args.n, args.reps, workers)))
    finally:
        observe.POOL_SIZE = shipped
        bench.cleanup()


if __name__ == "__main__":
    main()
