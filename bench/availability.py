"""Availability benchmark: requests lost while a published web service is updated (issue 11).

Run through bench/availability.sh (engine, images, community.docker, docker-compose, environment).
Five ways to update the same app (busybox httpd under an init, serving a page that names its version,
`APP_VERSION` in its env), side by side in one run, in interleaved rounds (each round updates every
tool once, in a rotating order, so that all of them share the machine's load of that moment):

  default        dockerup's default replacement, the port published by the app itself
  eager-proxy    dockerup `update.eager` behind nginx (dockerup/nginx:1) on a user-defined network
  rolling-proxy  two replicas sharing an alias (`aliases`), `update.rolling`, behind nginx
  rolling-eager-proxy  the same replicas with `update.rolling` and `update.eager` (not in the default set)
  eager-traefik  dockerup `update.eager` with `update.switch: rename` behind Traefik (dockerup/traefik:1;
                 not in the default set)
  eager-traefik-overlap  the same with the default switch, `overlap` (not in the default set)
  compose        `docker-compose up -d` (Debian's docker-compose 1.29), the port published
  docker_container  one `community.docker.docker_container` task (ansible-playbook), the port published

Each update is measured alone: bench/loadgen.py sends ~100 requests a second to 127.0.0.1:<port> from
1.5 s before the update command starts until 2.5 s after it ended, and counts failed requests
(refused, reset, 5xx, timeout after 5 s) and the longest gap without a successful answer. The update
must show: the new version is served at the end, or the bench stops. Results: median and max per tool,
JSON in bench/results/availability-<UTC time>.json and availability-latest.json (ignored by git).

Only containers named duavail* and labelled dockerup-bench.owned=1 (and the network duavail-net) are
ever removed; nothing else on the engine is touched.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import loadgen  # noqa: E402  pylint: disable=wrong-import-position

WORK = os.path.join(HERE, ".work", "availability")
RESULTS = os.path.join(HERE, "results")
DOCKERUP = os.environ.get("AVAIL_DOCKERUP", os.path.join(ROOT, "bin", "dockerup"))
IMAGE = "dockerup/busybox:1"
PROXY_IMAGE = "dockerup/nginx:1"
TRAEFIK_IMAGE = "dockerup/traefik:1"
LABEL = "dockerup-bench.owned"
PREFIX = "duavail"
NETWORK = PREFIX + "-net"
COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"
COMMAND = ("sh -c 'mkdir -p /srv/www && echo \"app $APP_VERSION\" > /srv/www/index.html "
           "&& exec httpd -f -p 80 -h /srv/www'")
TOOLS = ("default", "eager-proxy", "rolling-proxy", "compose", "docker_container")
TRAEFIK_TOOLS = {"eager-traefik": "rename", "eager-traefik-overlap": "overlap"}  # tool: its update.switch
EXTRA_TOOLS = ("rolling-eager-proxy",) + tuple(TRAEFIK_TOOLS)
DOCKERUP_TOOLS = ("default", "eager-proxy", "rolling-proxy") + EXTRA_TOOLS
PORTS = {"default": 39101, "eager-proxy": 39102, "rolling-proxy": 39103, "compose": 39104, "docker_container": 39105,
         "rolling-eager-proxy": 39106, "eager-traefik": 39107, "eager-traefik-overlap": 39108}
TITLES = {
    "default": "dockerup, default replacement, port published by the app",
    "eager-proxy": "dockerup, update.eager behind nginx",
    "rolling-proxy": "dockerup, 2 replicas (aliases), update.rolling behind nginx",
    "rolling-eager-proxy": "dockerup, 2 replicas (aliases), update.rolling + eager behind nginx",
    "eager-traefik": "dockerup, update.eager + switch rename behind Traefik",
    "eager-traefik-overlap": "dockerup, update.eager (switch overlap) behind Traefik",
    "compose": "docker-compose 1.29 up -d, port published",
    "docker_container": "community.docker.docker_container task, port published",
}
NGINX_CONF = """server {
    listen 80;
    access_log off;
    resolver 127.0.0.11 valid=1s ipv6=off;
    resolver_timeout 2s;
    proxy_next_upstream error timeout;
    proxy_connect_timeout %s;
    location / {
        set $app http://%s:80;
        proxy_pass $app;
    }
}
"""
# Traefik's configuration: the shipped example's (the app zd-app on /), with this bench's app name and
# connect timeout.
EXAMPLE_TRAEFIK = os.path.join(ROOT, "examples", "zero-downtime", "traefik.toml")
EXAMPLE_DIAL_TIMEOUT = 'dialTimeout = "2s"'


def run(cmd, **kwargs):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          check=kwargs.pop("check", False), **kwargs)


def must(cmd, what, **kwargs):
    result = run(cmd, **kwargs)
    if result.returncode != 0:
        sys.exit("availability: %s failed (exit %d): %s\n%s" % (what, result.returncode, " ".join(cmd), result.stdout[-3000:]))
    return result.stdout


# --------------------------------------------------------------------------- the tools

def app(name, version, **extra):
    definition = {"name": name, "image": IMAGE, "command": COMMAND, "init": True, "restart": "unless-stopped",
                  "env": {"APP_VERSION": version}, "labels": {LABEL: "1"}}
    definition.update(extra)
    return definition


CONNECT_TIMEOUT = ["2s"]  # nginx proxy_connect_timeout and Traefik dialTimeout (--connect-timeout)


def traefik_conf(upstream):
    with open(EXAMPLE_TRAEFIK) as handle:
        text = handle.read()
    if EXAMPLE_DIAL_TIMEOUT not in text:
        sys.exit("availability: %s no longer says %s" % (EXAMPLE_TRAEFIK, EXAMPLE_DIAL_TIMEOUT))
    return text.replace("zd-app", upstream).replace(EXAMPLE_DIAL_TIMEOUT, 'dialTimeout = "%s"' % CONNECT_TIMEOUT[0])


def write_if_changed(path, text):
    """Write ``path`` in place (it is bind-mounted: a rename would not reach the container) unless it holds
    ``text`` already: Traefik reloads a rewritten file and answers 404 meanwhile."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path, "w") as handle:
        handle.write(text)


def proxy(tool, upstream):
    traefik = tool in TRAEFIK_TOOLS
    conf = os.path.join(WORK, tool, "traefik.toml" if traefik else "nginx.conf")
    write_if_changed(conf, traefik_conf(upstream) if traefik else NGINX_CONF % (CONNECT_TIMEOUT[0], upstream))
    return {"name": "%s-%s-proxy" % (PREFIX, tool), "image": TRAEFIK_IMAGE if traefik else PROXY_IMAGE, "network": NETWORK,
            "restart": "unless-stopped", "labels": {LABEL: "1"},
            "portMappings": [{"containerPort": 80, "hostPort": PORTS[tool], "hostIp": "127.0.0.1"}],
            "volumes": [{"containerPath": "/etc/traefik/dynamic.toml" if traefik else "/etc/nginx/conf.d/default.conf",
                         "hostPath": conf, "mode": "ro"}]}


def dockerup_definitions(tool, version):
    if tool == "default":
        return [app(PREFIX + "-default-app", version,
                    portMappings=[{"containerPort": 80, "hostPort": PORTS[tool], "hostIp": "127.0.0.1"}])]
    if tool == "eager-proxy":
        name = PREFIX + "-eager-app"
        return [proxy(tool, name), app(name, version, network=NETWORK, update={"eager": True})]
    if tool in TRAEFIK_TOOLS:
        name = "%s-%s-app" % (PREFIX, tool)
        return [proxy(tool, name), app(name, version, network=NETWORK, update={"eager": True, "switch": TRAEFIK_TOOLS[tool]})]
    alias = "%s-%s-pool" % (PREFIX, tool.split("-proxy")[0])
    update = {"rolling": True, "eager": tool == "rolling-eager-proxy"}
    return [proxy(tool, alias)] + [app("%s-%d" % (alias, i), version, network=NETWORK, aliases=[alias],
                                       update=update) for i in (1, 2)]


def update_command(tool, version):
    """Write the tool's input for ``version``; return the command that applies it."""
    folder = os.path.join(WORK, tool)
    os.makedirs(folder, exist_ok=True)
    if tool in DOCKERUP_TOOLS:
        confdir = os.path.join(folder, "containers.d")
        os.makedirs(confdir, exist_ok=True)
        with open(os.path.join(confdir, "containers.json"), "w") as handle:
            json.dump({"containers": dockerup_definitions(tool, version)}, handle, indent=1)
        config = os.path.join(folder, "dockerup.conf")
        with open(config, "w") as handle:
            handle.write("confdir=%s\naws=false\npull=false\nscope=%s-%s\n" % (confdir, PREFIX, tool))
        return [sys.executable, DOCKERUP, "--config", config, "--cache", os.path.join(folder, "cache")]
    if tool == "compose":
        path = os.path.join(folder, "docker-compose.yml")
        with open(path, "w") as handle:
            json.dump({"version": "2.4", "services": {"app": {
                "image": IMAGE, "command": ["sh", "-c", COMMAND.split("'")[1].replace("$", "$$")], "init": True, "restart": "unless-stopped",
                "environment": {"APP_VERSION": version}, "labels": {LABEL: "1"}, "network_mode": "bridge",
                "ports": ["127.0.0.1:%d:80" % PORTS[tool]]}}}, handle, indent=1)
        return [COMPOSE, "-p", PREFIX + "-compose", "-f", path, "up", "-d"]
    path = os.path.join(folder, "vars.json")
    with open(path, "w") as handle:
        json.dump({"bench_containers": [{
            "name": PREFIX + "-dc-app", "image": IMAGE, "command": COMMAND, "env": {"APP_VERSION": version},
            "published_ports": ["127.0.0.1:%d:80" % PORTS[tool]], "restart_policy": "unless-stopped", "volumes": [],
            "labels": {LABEL: "1"}}]}, handle)
    return ["ansible-playbook", "-i", os.path.join(HERE, "playbooks", "inventory"), os.path.join(HERE, "playbooks", "loop.yml"),
            "-e", "@" + path]


def page(tool, timeout=2.0):
    try:
        return urllib.request.urlopen("http://127.0.0.1:%d/" % PORTS[tool], timeout=timeout).read().decode().strip()
    except OSError as exc:
        return "(%s)" % exc


def wait_page(tool, version, seconds=30.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if page(tool) == "app " + version:
            return True
        time.sleep(0.2)
    return False


# --------------------------------------------------------------------------- measuring

def measure(tool, version, rate, before, after):
    """One update under load: the loadgen result plus the update's own duration and output tail."""
    cmd = update_command(tool, version)
    stop = threading.Event()
    result = {}
    thread = threading.Thread(target=lambda: result.update(loadgen.run(PORTS[tool], rate, 600, stop_event=stop)))
    thread.start()
    time.sleep(before)
    started = time.monotonic()
    done = run(cmd)
    seconds = time.monotonic() - started
    time.sleep(after)
    stop.set()
    thread.join()
    if done.returncode != 0:
        sys.exit("availability: %s update to %s failed (exit %d):\n%s" % (tool, version, done.returncode, done.stdout[-3000:]))
    if not wait_page(tool, version, 10):
        sys.exit("availability: %s does not serve %s after its update (it serves %r)" % (tool, version, page(tool)))
    return {"tool": tool, "version": version, "update_seconds": round(seconds, 2), "failed": result["failed"],
            "counts": {k: v for k, v in result["counts"].items() if v}, "longest_gap": result["longest_gap"],
            "requests": result["requests"], "slowest": result["slowest"], "failures": result["failures"][:5],
            "load": [round(x, 2) for x in os.getloadavg()]}


def cleanup():
    rows = run(["docker", "ps", "-a", "--filter", "label=%s=1" % LABEL, "--format", "{{.ID}} {{.Names}}"]).stdout.split("\n")
    ids = [r.split()[0] for r in rows if r.strip() and r.split()[1].startswith(PREFIX)]
    if ids:
        run(["docker", "rm", "-f"] + ids)
    run(["docker", "network", "rm", NETWORK])


def summarise(samples, tools):
    rows = []
    for tool in tools:
        mine = [s for s in samples if s["tool"] == tool]
        if not mine:
            continue
        failed = [s["failed"] for s in mine]
        gaps = [s["longest_gap"] for s in mine]
        rows.append({"tool": tool, "title": TITLES[tool], "updates": len(mine),
                     "failed_median": statistics.median(failed), "failed_max": max(failed), "failed_total": sum(failed),
                     "gap_median": round(statistics.median(gaps), 2), "gap_max": round(max(gaps), 2),
                     "update_seconds_median": round(statistics.median(s["update_seconds"] for s in mine), 2)})
    return rows


def table(rows, meta):
    lines = ["| tool | updates | failed requests: median | max | total | longest gap (s): median | max | update took (s), median |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %d | %s | %d | %d | %.2f | %.2f | %.2f |" % (
            r["title"], r["updates"], r["failed_median"], r["failed_max"], r["failed_total"], r["gap_median"], r["gap_max"],
            r["update_seconds_median"]))
    lines.append("")
    lines.append("~%d requests/s during each update (from %.1f s before to %.1f s after it); load average %s; %s." % (
        meta["rate"], meta["before"], meta["after"], meta["load_range"], meta["source"]))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description="availability benchmark (see the module docstring)")
    parser.add_argument("--updates", type=int, default=10, help="updates per tool (default 10)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, of %s" % ",".join(TOOLS + EXTRA_TOOLS))
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--before", type=float, default=1.5)
    parser.add_argument("--after", type=float, default=2.5)
    parser.add_argument("--keep", action="store_true", help="leave the containers running at the end")
    parser.add_argument("--connect-timeout", default="2s",
                        help="nginx proxy_connect_timeout and Traefik dialTimeout of the proxies (default 2s)")
    parser.add_argument("--report", help="only print the tables of a saved JSON result")
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report) as handle:
            saved = json.load(handle)
        print(table(saved["summary"], saved["meta"]))
        return 0
    CONNECT_TIMEOUT[0] = args.connect_timeout
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS + EXTRA_TOOLS)
    if unknown:
        parser.error("unknown tools: %s" % ", ".join(sorted(unknown)))
    if set(tools) & set(TRAEFIK_TOOLS):
        must([os.path.join(ROOT, "scripts", "images.sh"), TRAEFIK_IMAGE], "building " + TRAEFIK_IMAGE)
    started = time.time()
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(RESULTS, exist_ok=True)
    cleanup()
    samples = []
    loads = []
    try:
        for tool in tools:  # first converge, not measured
            must(update_command(tool, "v0"), "%s: first converge" % tool)
            if not wait_page(tool, "v0"):
                sys.exit("availability: %s does not serve v0 after its first converge (%r)" % (tool, page(tool)))
        for k in range(1, args.updates + 1):
            order = tools[(k - 1) % len(tools):] + tools[:(k - 1) % len(tools)]
            for tool in order:
                sample = measure(tool, "v%d" % k, args.rate, args.before, args.after)
                samples.append(sample)
                loads.append(sample["load"][0])
                print("availability: round %d %-16s failed %4d  gap %5.2f s  update %5.2f s  load %.1f" % (
                    k, tool, sample["failed"], sample["longest_gap"], sample["update_seconds"], sample["load"][0]),
                    file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            cleanup()
    meta = {"rate": args.rate, "connect_timeout": args.connect_timeout, "before": args.before, "after": args.after, "updates": args.updates,
            "load_range": "%.1f-%.1f" % (min(loads), max(loads)) if loads else "?",
            "source": os.environ.get("BENCH_COLLECTION_SOURCE", "work tree"),
            "seconds": round(time.time() - started), "machine": platform.node(), "cpus": os.cpu_count(),
            "docker": run(["docker", "version", "--format", "{{.Server.Version}}"]).stdout.strip(),
            "compose": run([COMPOSE, "version", "--short"]).stdout.strip()}
    summary = summarise(samples, tools)
    stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    document = {"meta": meta, "summary": summary, "samples": samples}
    for name in ("availability-%s.json" % stamp, "availability-latest.json"):
        with open(os.path.join(RESULTS, name), "w") as handle:
            json.dump(document, handle, indent=1)
    print(table(summary, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
