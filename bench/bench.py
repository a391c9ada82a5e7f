"""Benchmark driver: the same N containers converged by (a) dockerup.bootstrap.containers in one task,
(b) a loop of community.docker.docker_container tasks, (c) docker-compose; plus a trivial-playbook baseline.

Run through bench/run.sh (it prepares the engine, the image, community.docker and the environment).
Every measurement is the wall-clock time of one whole command (ansible-playbook or docker-compose), from
process start to exit. Every run's outcome is checked (changed/unchanged as expected, containers running,
only the edited container replaced), and a run that does not do what it should stops the bench.

Only containers carrying the label dockerup-bench.owned=1 *and* a name starting with "dubench" are ever
removed; nothing else on the engine is touched.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work")
PLAYBOOKS = os.path.join(HERE, "playbooks")
INVENTORY = os.path.join(PLAYBOOKS, "inventory")

IMAGE = "dockerup/busybox:1"
COMMAND = "httpd -f -p 80 -h /www"
RESTART = "unless-stopped"
BENCH_LABEL = "dockerup-bench.owned"
PREFIX = "dubench"
# Container i (1-based) publishes 127.0.0.1:(PORT_BASE[tool] + i) -> 80: fixed host ports, the same
# scheme in every tool, one range per tool so that the three sets can run side by side (the bench
# interleaves the tools repetition by repetition, so that all three see the same machine load).
PORT_BASE = {"module": 38000, "loop": 38100, "compose": 38200}
NAME_PREFIX = {"module": PREFIX + "-mod-", "loop": PREFIX + "-loop-", "compose": "dubench-compose_"}
MODULE_SCOPE = "dubench"
COMPOSE_PROJECT = "dubench-compose"
COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"

TOOLS = ("module", "loop", "compose")
SCENARIOS = ("first", "noop", "check", "env")
SCENARIO_TITLES = {
    "first": "first converge",
    "noop": "no-op re-run",
    "check": "--check no-op",
    "env": "one env var changed",
}
TOOL_TITLES = {
    "module": "dockerup.bootstrap.containers (1 task)",
    "loop": "community.docker.docker_container loop",
    "compose": "docker-compose 1.29 up -d",
}


# --------------------------------------------------------------------------- definitions

def www_dir():
    path = os.path.join(WORK, "www")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "index.html"), "w") as handle:
        handle.write("dockerup bench\n")
    return path


def container_specs(tool, n, rev):
    """The N containers, tool-neutral. Container 1 carries BENCH_REV=rev (the env var the bench edits)."""
    www = www_dir()
    specs = []
    for i in range(1, n + 1):
        specs.append({
            "index": i,
            "env": {
                "BENCH_INDEX": str(i),
                "BENCH_ROLE": "web",
                "BENCH_REV": str(rev) if i == 1 else "0",
            },
            "host_port": PORT_BASE[tool] + i,
            "www": www,
        })
    return specs


def name_of(tool, i):
    if tool == "compose":
        return "%s_c%02d_1" % (COMPOSE_PROJECT, i)
    return "%s%02d" % (NAME_PREFIX[tool], i)


def write_inputs(tool, n, rev):
    """Write what one tool needs for N containers at revision rev; return the file's path."""
    directory = os.path.join(WORK, "n%d" % n)
    os.makedirs(directory, exist_ok=True)
    specs = container_specs(tool, n, rev)
    if tool == "module":
        data = {
            "bench_scope": MODULE_SCOPE,
            "bench_cache": os.path.join(WORK, "cache"),
            "bench_containers": [{
                "name": name_of(tool, s["index"]),
                "image": IMAGE,
                "command": COMMAND,
                "init": True,
                "env": s["env"],
                "portMappings": [{"containerPort": 80, "hostPort": s["host_port"], "hostIp": "127.0.0.1"}],
                "restart": RESTART,
                "volumes": [{"containerPath": "/www", "hostPath": s["www"], "mode": "ro"}],
                "labels": {BENCH_LABEL: "1"},
            } for s in specs],
        }
        path = os.path.join(directory, "module-vars.json")
    elif tool == "loop":
        data = {
            "bench_containers": [{
                "name": name_of(tool, s["index"]),
                "image": IMAGE,
                "command": COMMAND,
                "env": s["env"],
                "published_ports": ["127.0.0.1:%d:80" % s["host_port"]],
                "restart_policy": RESTART,
                "volumes": ["%s:/www:ro" % s["www"]],
                "labels": {BENCH_LABEL: "1"},
            } for s in specs],
        }
        path = os.path.join(directory, "loop-vars.json")
    else:
        services = {}
        for s in specs:
            services["c%02d" % s["index"]] = {
                "image": IMAGE,
                "command": COMMAND,
                "init": True,
                "environment": s["env"],
                "ports": ["127.0.0.1:%d:80" % s["host_port"]],
                "restart": RESTART,
                "volumes": ["%s:/www:ro" % s["www"]],
                "labels": {BENCH_LABEL: "1"},
                # The default bridge, as in the two Ansible variants (compose would otherwise create
                # a project network, which the others do not).
                "network_mode": "bridge",
            }
        data = {"version": "2.4", "services": services}
        path = os.path.join(directory, "docker-compose.yml")  # JSON is valid YAML
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    return path


# --------------------------------------------------------------------------- commands

def command_for(tool, n, rev, scenario):
    path = write_inputs(tool, n, rev)
    if tool == "compose":
        return [COMPOSE, "--no-ansi", "-p", COMPOSE_PROJECT, "-f", path, "up", "-d"]
    playbook = os.path.join(PLAYBOOKS, "module.yml" if tool == "module" else "loop.yml")
    cmd = ["ansible-playbook", "-i", INVENTORY, playbook, "-e", "@" + path]
    if scenario == "check":
        cmd.append("--check")
    return cmd


def baseline_command(kind):
    return ["ansible-playbook", "-i", INVENTORY, os.path.join(PLAYBOOKS, "trivial-%s.yml" % kind)]


def timed(cmd):
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE, check=False)
    return time.monotonic() - start, proc.returncode, proc.stdout


RECAP = re.compile(r"^\S+\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def recap(output):
    found = RECAP.findall(output)
    if len(found) != 1:
        return None
    ok, changed, unreachable, failed = (int(x) for x in found[0])
    return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}


class BenchError(Exception):
    pass


def fail(what, cmd, output):
    tail = "\n".join(output.splitlines()[-40:])
    raise BenchError("%s\ncommand: %s\n--- output (last lines) ---\n%s" % (what, " ".join(cmd), tail))


def docker(*args):
    return subprocess.run(["docker"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True).stdout


# --------------------------------------------------------------------------- engine state

def bench_containers(tool=None):
    """{name: {id, state, env}} of the containers this bench created (label AND name prefix), all or one
    tool's."""
    ids = docker("ps", "-aq", "--no-trunc", "--filter", "label=%s=1" % BENCH_LABEL).split()
    if not ids:
        return {}
    found = {}
    for attrs in json.loads(docker("inspect", *ids)):
        name = attrs["Name"].lstrip("/")
        if not name.startswith(NAME_PREFIX[tool] if tool else PREFIX):
            continue
        env = dict(e.split("=", 1) for e in attrs["Config"].get("Env") or [] if "=" in e)
        found[name] = {"id": attrs["Id"], "state": attrs["State"]["Status"], "env": env,
                       "init": attrs["HostConfig"].get("Init"), "restart": attrs["HostConfig"]["RestartPolicy"]["Name"]}
    return found


def cleanup(tool=None):
    """Remove the bench's own containers (label dockerup-bench.owned=1 and name prefix dubench) only;
    with ``tool``, only that tool's."""
    names = sorted(bench_containers(tool))
    if names:
        subprocess.run(["docker", "rm", "-f"] + names, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    left = bench_containers(tool)
    if left:
        raise BenchError("cleanup left containers behind: %s" % ", ".join(sorted(left)))


def expect_running(tool, n, rev):
    live = bench_containers(tool)
    want = {name_of(tool, i) for i in range(1, n + 1)}
    missing = sorted(want - {k for k, v in live.items() if v["state"] == "running"})
    extra = sorted(set(live) - want)
    if missing or extra:
        raise BenchError("%s N=%d: not running: %s; unexpected: %s" % (tool, n, missing, extra))
    first = live[name_of(tool, 1)]
    if first["env"].get("BENCH_REV") != str(rev) or not first["init"] or first["restart"] != RESTART:
        raise BenchError("%s N=%d: container 1 is not as defined: %s" % (tool, n, first))
    return {k: v["id"] for k, v in live.items()}


def http_check(tool, n):
    for i in (1, n):
        port = PORT_BASE[tool] + i
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5) as response:
            if b"dockerup bench" not in response.read():
                raise BenchError("%s: port %d does not serve the bind-mounted page" % (tool, port))


# --------------------------------------------------------------------------- scenarios

def run_scenario(tool, n, scenario, rev, samples, log):
    cmd = command_for(tool, n, rev, scenario)
    before = {k: v["id"] for k, v in bench_containers(tool).items()}
    seconds, rc, output = timed(cmd)
    log.write("### %s N=%d %s rev=%d: %.3f s rc=%d\n$ %s\n%s\n" % (tool, n, scenario, rev, seconds, rc, " ".join(cmd), output))
    log.flush()
    if rc != 0:
        fail("%s N=%d %s: exit code %d" % (tool, n, scenario, rc), cmd, output)
    if tool != "compose":
        result = recap(output)
        if result is None or result["failed"] or result["unreachable"]:
            fail("%s N=%d %s: no clean PLAY RECAP" % (tool, n, scenario), cmd, output)
        want_changed = scenario in ("first", "env")
        if bool(result["changed"]) != want_changed:
            fail("%s N=%d %s: changed=%d, expected %s" % (tool, n, scenario, result["changed"],
                                                          "changes" if want_changed else "none"), cmd, output)
    else:
        verbs = re.findall(r"^(Creating|Recreating|Starting|Stopping|Removing)\b", output, re.M)
        if scenario in ("noop",) and verbs:
            fail("compose N=%d no-op changed something" % n, cmd, output)
    after = expect_running(tool, n, rev)
    # Which containers were (re)created by this run: must be all (first), none (no-op, check), or only
    # container 1 (env).
    replaced = sorted(k for k, v in after.items() if before.get(k) != v)
    want = {"first": sorted(after), "noop": [], "check": [], "env": [name_of(tool, 1)]}[scenario]
    if replaced != want:
        fail("%s N=%d %s: replaced %s, expected %s" % (tool, n, scenario, replaced, want), cmd, output)
    samples.setdefault(tool, {}).setdefault(str(n), {}).setdefault(scenario, []).append(round(seconds, 3))
    print("  %-7s N=%-3d %-6s %7.2f s" % (tool, n, scenario, seconds), flush=True)
    return seconds


def run_baseline(kind, n, samples, log):
    cmd = baseline_command(kind)
    seconds, rc, output = timed(cmd)
    log.write("### baseline %s N=%d: %.3f s rc=%d\n%s\n" % (kind, n, seconds, rc, output))
    result = recap(output)
    if rc != 0 or result is None or result["failed"] or result["changed"]:
        fail("baseline %s failed" % kind, cmd, output)
    samples.setdefault("baseline", {}).setdefault(str(n), {}).setdefault(kind, []).append(round(seconds, 3))
    print("  trivial %-5s (N=%d phase) %5.2f s" % (kind, n, seconds), flush=True)


def bench_n(n, tools, reps, samples, log):
    """All scenarios at N containers. Each scenario runs in rounds; a round runs every tool once (the
    order rotates from round to round), so that the tools and the baseline share the same machine load.
    ``reps`` gives each tool's number of rounds."""
    rounds = max(reps[t] for t in tools)

    def in_rounds(scenario, action):
        for r in range(rounds):
            for tool in tools[r % len(tools):] + tools[:r % len(tools)]:
                if tool == "module" and scenario in ("noop", "check"):
                    # The baseline runs right before the module's no-op and check runs it is compared
                    # with (same round, same load): sample r of each is one pair.
                    run_baseline("ping", n, samples, log)
                    run_baseline("debug", n, samples, log)
                if r < reps[tool] and not (tool == "compose" and scenario == "check"):
                    action(tool, r)

    rev = {t: 0 for t in tools}

    def first(tool, dummy):
        cleanup(tool)  # from nothing; untimed
        run_scenario(tool, n, "first", rev[tool], samples, log)

    def same(scenario):
        return lambda tool, dummy: run_scenario(tool, n, scenario, rev[tool], samples, log)

    def env(tool, dummy):
        rev[tool] += 1  # each round edits BENCH_REV of container 1 relative to the state the last one left
        run_scenario(tool, n, "env", rev[tool], samples, log)

    in_rounds("first", first)
    for tool in tools:
        http_check(tool, n)
    in_rounds("noop", same("noop"))
    in_rounds("check", same("check"))
    in_rounds("env", env)
    cleanup()


# --------------------------------------------------------------------------- report

def median(values):
    return statistics.median(values) if values else None


def loadavg():
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def machine():
    def out(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  check=False).stdout.strip()
        except OSError as exc:
            return str(exc)

    with open("/proc/meminfo") as handle:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", handle.read()).group(1))
    cpu = ""
    with open("/proc/cpuinfo") as handle:
        found = re.search(r"model name\s*:\s*(.+)", handle.read())
        cpu = found.group(1) if found else platform.machine()
    manifest = os.path.join(ROOT, "build/collections-extra/ansible_collections/community/docker/MANIFEST.json")
    with open(manifest) as handle:
        cd_version = json.load(handle)["collection_info"]["version"]
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": out(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "python": platform.python_version(),
        "ansible_core": out([sys.executable, "-c", "import ansible.release as r; print(r.__version__)"]),
        "community_docker": cd_version,
        "docker_server": out(["docker", "version", "--format", "{{.Server.Version}}"]),
        "docker_client": out(["docker", "version", "--format", "{{.Client.Version}}"]),
        "docker_compose": out([COMPOSE, "version", "--short"]),
        "docker_py": out([sys.executable, "-c", "import docker; print(docker.__version__)"]),
        "collection_source": os.environ.get("BENCH_COLLECTION_SOURCE", "?"),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
        "other_containers_running": len(docker("ps", "-q").split()) - len(bench_containers()),
    }


def summarize(samples):
    medians = {}
    for tool in TOOLS:
        for n, scenarios in samples.get(tool, {}).items():
            for scenario, values in scenarios.items():
                medians.setdefault(tool, {}).setdefault(n, {})[scenario] = round(median(values), 3)
    medians["baseline"] = {
        n: {kind: round(median(values), 3) for kind, values in kinds.items()}
        for n, kinds in samples.get("baseline", {}).items()
    }
    return medians


def paired(a, b):
    """Median of the per-round ratios a[r] / b[r] (rounds both have), or None."""
    pairs = [x / y for x, y in zip(a or [], b or []) if y]
    return statistics.median(pairs) if pairs else None


def ratios(medians, samples, n="40"):
    mod = medians.get("module", {}).get(n, {})
    loop = medians.get("loop", {}).get(n, {})
    comp = medians.get("compose", {}).get(n, {})
    # the baseline measured in the same rounds as this N's no-op and check runs
    ping = medians.get("baseline", {}).get(n, {}).get("ping")
    debug = medians.get("baseline", {}).get(n, {}).get("debug")
    rows = []
    raw = {t: samples.get(t, {}).get(n, {}) for t in TOOLS}
    base = samples.get("baseline", {}).get(n, {})

    def add(what, value, target, met, pair=None):
        # judged on the value as reported (2 decimals): run-to-run noise is far larger than 0.005x
        value = None if value is None else round(value, 2)
        rows.append({"what": what, "value": value, "target": target,
                     "paired": None if pair is None else round(pair, 2),
                     "met": None if value is None else bool(met(value))})

    def div(a, b):
        return a / b if a and b else None

    for scenario in ("noop", "check"):
        mine = raw["module"].get(scenario)
        # the baseline pairs: the ping/debug runs of the no-op rounds come first, then those of check
        rounds = len(raw["module"].get("noop") or [])
        pings = (base.get("ping") or [])[:rounds] if scenario == "noop" else (base.get("ping") or [])[rounds:]
        debugs = (base.get("debug") or [])[:rounds] if scenario == "noop" else (base.get("debug") or [])[rounds:]
        add("N=%s %s: loop / module (speed-up)" % (n, SCENARIO_TITLES[scenario]),
            div(loop.get(scenario), mod.get(scenario)), ">= 10x", lambda v: v >= 10,
            paired(raw["loop"].get(scenario), mine))
        add("N=%s %s: module / trivial playbook (ping)" % (n, SCENARIO_TITLES[scenario]),
            div(mod.get(scenario), ping), "<= 1.3x", lambda v: v <= 1.3, paired(mine, pings))
        add("N=%s %s: module / trivial playbook (debug)" % (n, SCENARIO_TITLES[scenario]),
            div(mod.get(scenario), debug), "<= 1.3x", lambda v: v <= 1.3, paired(mine, debugs))
    add("N=%s first converge: loop / module (speed-up)" % n, div(loop.get("first"), mod.get("first")),
        ">= 3x", lambda v: v >= 3, paired(raw["loop"].get("first"), raw["module"].get("first")))
    add("N=%s first converge: module / compose" % n, div(mod.get("first"), comp.get("first")),
        "<= 1.2x", lambda v: v <= 1.2, paired(raw["module"].get("first"), raw["compose"].get("first")))
    add("N=%s env change: loop / module (speed-up, no target)" % n, div(loop.get("env"), mod.get("env")),
        "-", lambda v: True, paired(raw["loop"].get("env"), raw["module"].get("env")))
    add("N=%s env change: module / compose (no target)" % n, div(mod.get("env"), comp.get("env")),
        "-", lambda v: True, paired(raw["module"].get("env"), raw["compose"].get("env")))
    return rows


def table(medians, samples, ns):
    lines = []
    header = "| scenario | N | " + " | ".join(TOOL_TITLES[t] for t in TOOLS) + " |"
    lines.append(header)
    lines.append("|" + "---|" * (2 + len(TOOLS)))
    for n in ns:
        for scenario in SCENARIOS:
            cells = []
            for tool in TOOLS:
                values = samples.get(tool, {}).get(str(n), {}).get(scenario)
                if tool == "compose" and scenario == "check":
                    cells.append("n/a")
                elif not values:
                    cells.append("-")
                else:
                    cells.append("%.2f (n=%d)" % (median(values), len(values)))
            lines.append("| %s | %d | %s |" % (SCENARIO_TITLES[scenario], n, " | ".join(cells)))
    for n in ns:
        base = samples.get("baseline", {}).get(str(n), {})
        for kind in ("ping", "debug"):
            if base.get(kind):
                lines.append("| trivial playbook, 1 %s task (N=%d rounds) | - | %.2f (n=%d) | | |"
                             % (kind, n, median(base[kind]), len(base[kind])))
    return "\n".join(lines)


def ratio_table(rows):
    lines = ["| ratio | ratio of medians | median of per-round ratios | target | met (ratio of medians) |",
             "|---|---|---|---|---|"]
    for row in rows:
        value = "-" if row["value"] is None else "%.2fx" % row["value"]
        pair = "-" if row.get("paired") is None else "%.2fx" % row["paired"]
        met = "-" if row["met"] is None or row["target"] == "-" else ("yes" if row["met"] else "**no**")
        lines.append("| %s | %s | %s | %s | %s |" % (row["what"], value, pair, row["target"], met))
    return "\n".join(lines)


def finish(result, out):
    """Medians, ratios, JSON, results/README.md and the printed tables, from a result's raw samples."""
    samples = result["samples"]
    ns = sorted({int(n) for tool in TOOLS for n in samples.get(tool, {})})
    medians = summarize(samples)
    rows = [row for n in sorted(ns, reverse=True) for row in ratios(medians, samples, str(n))]
    result.update(medians=medians, ratios=rows)
    stamp = result["started"]
    path = os.path.join(out, "bench-%s.json" % stamp)
    with open(path, "w") as handle:
        json.dump(result, handle, indent=1, sort_keys=True)
    shutil.copyfile(path, os.path.join(out, "latest.json"))
    text = table(medians, samples, ns)
    rtext = ratio_table(rows)
    with open(os.path.join(out, "README.md"), "w") as handle:
        handle.write("# Latest bench run (%s)\n\nWritten by `bench/run.sh`; raw samples in `bench-%s.json` "
                     "(not in git). Medians in seconds, (n=repetitions).\n\nMachine: %s\n\n%s\n\n%s\n"
                     % (stamp, stamp, json.dumps(result["machine"], sort_keys=True), text, rtext))
    print()
    print(text)
    print()
    print(rtext)
    print("\nbench: %.0f s in all; results in %s" % (result["machine"].get("bench_seconds", 0), path))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", default="10,40", help="container counts, comma-separated (default 10,40)")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per scenario (default 5)")
    parser.add_argument("--loop-reps", type=int, default=3,
                        help="repetitions for the docker_container loop (default 3; it is the slow one)")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--report", metavar="JSON",
                        help="measure nothing: recompute the tables from a results file of an earlier run")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.report:
        with open(args.report) as handle:
            finish(json.load(handle), args.out)
        return
    ns = [int(x) for x in args.n.split(",")]
    tools = [t for t in args.tools.split(",") if t]
    os.makedirs(WORK, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    log_path = os.path.join(WORK, "bench-%s.log" % stamp)
    samples = {}
    load = {}
    info = machine()
    result = {"started": stamp, "machine": info, "samples": samples, "loadavg_1min": load, "complete": False,
              "notes": {
                  "unit": "seconds, wall clock of the whole command (ansible-playbook or docker-compose)",
                  "compose_check": "n/a: docker-compose 1.29 has no dry-run/check mode",
                  "reps": {"default": args.reps, "loop": args.loop_reps},
                  "paired": "rounds interleave the tools; the baseline runs right before the module in the "
                            "no-op and check rounds; per-round ratios pair sample r of each",
              }}
    raw_path = os.path.join(args.out, "bench-%s.json" % stamp)
    started = time.monotonic()
    print("bench: log of every run in %s" % log_path, flush=True)
    with open(log_path, "w") as log:
        try:
            cleanup()
            # warm-up (untimed): Python byte-code caches, Ansible's plugin loading, the docker socket
            seconds, rc, output = timed(baseline_command("ping"))
            if rc != 0:
                fail("warm-up: the trivial playbook failed", baseline_command("ping"), output)
            for n in ns:
                reps = {t: args.loop_reps if t == "loop" else args.reps for t in tools}
                print("bench: N=%d, tools in rounds: %s" % (n, ", ".join("%s x%d" % (t, reps[t]) for t in tools)),
                      flush=True)
                before = loadavg()
                bench_n(n, tools, reps, samples, log)
                load["N=%d" % n] = {"before": before, "after": loadavg()}
            result["complete"] = True
        finally:
            cleanup()
            info["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
            info["bench_seconds"] = round(time.monotonic() - started, 1)
            # the raw samples first, whatever happens next (a failed run keeps what it measured)
            with open(raw_path, "w") as handle:
                json.dump(result, handle, indent=1, sort_keys=True)
    finish(result, args.out)


if __name__ == "__main__":
    try:
        main()
    except BenchError as exc:
        print("bench: FAILED: %s" % exc, file=sys.stderr)
        sys.exit(1)
