"""Scratch harness that chose the zero-downtime switch (issue 11): candidate ways to replace a container
behind nginx, done with docker-py directly (not through dockerup), each measured over N consecutive
updates at ~100 requests a second (bench/loadgen.py). Results and discussion: bench/README.md, "How the
switch was chosen". Usage, as root on the bench machine (needs dockerup/busybox:1 and dockerup/nginx:1):

    python3 bench/switch_candidates.py STRATEGY UPDATES DRAIN_SECONDS CONNECT_TIMEOUT
    python3 bench/switch_candidates.py alias_stop 20 2 3s

STRATEGY: today (two renames, 1 s, stop), alias_stop (the chosen one), alias_disc (old leaves by
network disconnect), alternate. Prints one JSON line. Creates and removes only containers labelled
duz=1 (duz-app*, duz-proxy) and the network duz-net; the proxy listens on 127.0.0.1:39080.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import docker

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadgen  # noqa: E402  pylint: disable=wrong-import-position

API = docker.APIClient(version="auto")
WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work", "switch")
CONF = """server {
    listen 80;
    access_log off;
    resolver 127.0.0.11 valid=1s ipv6=off;
    resolver_timeout 2s;
    location / {
        set $app http://duz-app:80;
        proxy_pass $app;
        proxy_connect_timeout CONNECT_TIMEOUT;
        proxy_next_upstream error timeout;
    }
}
"""
NET = "duz-net"
NAME = "duz-app"
PROXY = "duz-proxy"
PORT = 39080
IMAGE = "dockerup/busybox:1"
LABEL = {"duz": "1"}


def command(version):
    return ["sh", "-c", "mkdir -p /tmp/www && echo %s > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www" % version]


def create(name, version):
    return API.create_container(IMAGE, command=command(version), name=name, labels=LABEL,
                                host_config=API.create_host_config(network_mode=NET, init=True))["Id"]


def aliases_of(cid):
    return API.inspect_container(cid)["NetworkSettings"]["Networks"][NET].get("Aliases") or []


def start_ready(cid, seconds=1.0):
    API.start(cid)
    time.sleep(seconds)
    assert API.inspect_container(cid)["State"]["Status"] == "running"


def relink(cid, aliases):
    API.disconnect_container_from_network(cid, NET)
    API.connect_container_to_network(cid, NET, aliases=aliases)


def remove_ours():
    for container in API.containers(all=True, filters={"label": "duz=1"}):
        API.remove_container(container["Id"], force=True)


def setup(connect_timeout):
    remove_ours()
    if not API.networks(names=[NET]):
        API.create_network(NET, driver="bridge")
    os.makedirs(WORK, exist_ok=True)
    conf = os.path.join(WORK, "site.conf")
    with open(conf, "w") as handle:
        handle.write(CONF.replace("CONNECT_TIMEOUT", connect_timeout))
    API.start(create(NAME, "v0"))
    proxy = API.create_container("dockerup/nginx:1", name=PROXY, labels=LABEL, ports=[80], host_config=API.create_host_config(
        network_mode=NET, port_bindings={80: ("127.0.0.1", PORT)}, binds=["%s:/etc/nginx/conf.d/default.conf:ro" % conf]))
    API.start(proxy["Id"])
    time.sleep(1.5)


def today(version, _drain):
    """What eager did before: two renames (the name resolves to nothing in between), 1 s, stop."""
    old = API.inspect_container(NAME)["Id"]
    new = create(NAME + "_new", version)
    start_ready(new)
    API.rename(old, NAME + "_old")
    API.rename(new, NAME)
    time.sleep(1.0)
    API.stop(old, timeout=10)
    API.remove_container(old)


def alias_stop(version, drain, old_with_alias="stop"):
    """The new one joins the name as an alias once ready; the old one leaves by a rename (no alias of its
    own) and drains, or, holding the alias, by its graceful stop (or, alias_disc, by a disconnect)."""
    old = API.inspect_container(NAME)["Id"]
    had_alias = NAME in aliases_of(old)
    new = create(NAME + "_new", version)
    start_ready(new)
    relink(new, [NAME])
    time.sleep(drain)
    if not had_alias:
        API.rename(old, NAME + "_old")
        time.sleep(drain)
        API.stop(old, timeout=10)
    elif old_with_alias == "stop":
        API.stop(old, timeout=10)
        API.rename(old, NAME + "_old")
    else:
        API.disconnect_container_from_network(old, NET)
        time.sleep(drain)
        API.stop(old, timeout=10)
        API.rename(old, NAME + "_old")
    API.rename(new, NAME)
    API.remove_container(old)


def alternate(version, drain):
    """Old holding the alias: the new one comes by name (two renames; the old one's alias covers the
    moment between them). Old without: the new one comes by alias."""
    old = API.inspect_container(NAME)["Id"]
    had_alias = NAME in aliases_of(old)
    new = create(NAME + "_new", version)
    start_ready(new)
    if had_alias:
        API.rename(old, NAME + "_old")
        API.rename(new, NAME)
        time.sleep(drain)
        API.stop(old, timeout=10)
    else:
        relink(new, [NAME])
        time.sleep(drain)
        API.rename(old, NAME + "_old")
        time.sleep(drain)
        API.stop(old, timeout=10)
        API.rename(new, NAME)
    API.remove_container(old)


STRATEGIES = {
    "today": today,
    "alias_stop": alias_stop,
    "alias_disc": lambda version, drain: alias_stop(version, drain, "disconnect"),
    "alternate": alternate,
}


def main(argv):
    strategy, updates, drain, connect_timeout = argv[0], int(argv[1]), float(argv[2]), argv[3]
    setup(connect_timeout)
    stop = threading.Event()
    result = {}
    durations = []
    thread = threading.Thread(target=lambda: result.update(loadgen.run(PORT, 100, 1800, stop_event=stop)))
    thread.start()
    try:
        time.sleep(2)
        for index in range(1, updates + 1):
            started = time.monotonic()
            STRATEGIES[strategy]("v%d" % index, drain)
            durations.append(round(time.monotonic() - started, 2))
            time.sleep(0.5)
        time.sleep(2)
    finally:
        stop.set()
        thread.join()
        remove_ours()
    result.pop("bodies", None)
    print(json.dumps(dict({"strategy": strategy, "updates": updates, "drain": drain, "connect_timeout": connect_timeout,
                           "load": os.getloadavg(), "durations": durations}, **result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
