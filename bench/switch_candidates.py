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
import json, os, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docker, loadgen
api = docker.APIClient(version="auto")
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
NET = "duz-net"; NAME = "duz-app"; PROXY = "duz-proxy"; PORT = 39080
IMAGE = "dockerup/busybox:1"

def cmd(v):
    return ["sh", "-c", "mkdir -p /tmp/www && echo %s > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www" % v]

def create(name, v, aliases=None):
    nc = api.create_networking_config({NET: api.create_endpoint_config(aliases=aliases)}) if aliases else None
    c = api.create_container(IMAGE, command=cmd(v), name=name, labels={"duz": "1"},
        host_config=api.create_host_config(network_mode=NET, init=True), networking_config=nc)
    return c["Id"]

def aliases_of(cid):
    return api.inspect_container(cid)["NetworkSettings"]["Networks"][NET].get("Aliases") or []

def wait_ready(cid, secs=1.0):
    time.sleep(secs)
    assert api.inspect_container(cid)["State"]["Status"] == "running"

def setup(connect_timeout):
    for c in api.containers(all=True, filters={"label": "duz=1"}):
        api.remove_container(c["Id"], force=True)
    if not api.networks(names=[NET]):
        api.create_network(NET, driver="bridge")
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, "site.conf"), "w") as handle:
        handle.write(CONF.replace("CONNECT_TIMEOUT", connect_timeout))
    cid = create(NAME, "v0"); api.start(cid)
    p = api.create_container("dockerup/nginx:1", name=PROXY, labels={"duz": "1"}, ports=[80],
        host_config=api.create_host_config(network_mode=NET, port_bindings={80: ("127.0.0.1", PORT)},
            binds=["%s:/etc/nginx/conf.d/default.conf:ro" % os.path.join(WORK, "site.conf")]))
    api.start(p["Id"]); time.sleep(1.5)

def current():
    return api.inspect_container(NAME)["Id"]

def today(v, D):
    old = current(); new = create(NAME + "_new", v); api.start(new); wait_ready(new)
    api.rename(old, NAME + "_old"); api.rename(new, NAME); time.sleep(1.0); api.stop(old, timeout=10); api.remove_container(old)

def relink(cid, aliases):
    api.disconnect_container_from_network(cid, NET)
    api.connect_container_to_network(cid, NET, aliases=aliases)

def alias_stop(v, D, old_with_alias_mode="stop"):
    old = current(); had = NAME in aliases_of(old)
    new = create(NAME + "_new", v); api.start(new); wait_ready(new)
    relink(new, [NAME]); time.sleep(D)
    if not had:
        api.rename(old, NAME + "_old"); time.sleep(D); api.stop(old, timeout=10)
    elif old_with_alias_mode == "stop":
        api.stop(old, timeout=10); api.rename(old, NAME + "_old")
    elif old_with_alias_mode == "disconnect":
        api.disconnect_container_from_network(old, NET); time.sleep(D); api.stop(old, timeout=10); api.rename(old, NAME + "_old")
    api.rename(new, NAME); api.remove_container(old)

def alternate(v, D):
    """old with alias: new by name only (renames: old keeps the alias over the gap); old without: new by alias."""
    old = current(); had = NAME in aliases_of(old)
    new = create(NAME + "_new", v); api.start(new); wait_ready(new)
    if had:
        api.rename(old, NAME + "_old"); api.rename(new, NAME); time.sleep(D); api.stop(old, timeout=10)
    else:
        relink(new, [NAME]); time.sleep(D); api.rename(old, NAME + "_old"); time.sleep(D); api.stop(old, timeout=10); api.rename(new, NAME)
    api.remove_container(old)

STRATS = {"today": today, "alias_stop": alias_stop, "alias_disc": lambda v, D: alias_stop(v, D, "disconnect"), "alternate": alternate}

if __name__ == "__main__":
    strat, n, D, ct = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    setup(ct)
    stop = threading.Event(); res = {}
    per = []
    t = threading.Thread(target=lambda: res.update(loadgen.run(PORT, 100, 1800, stop_event=stop))); t.start()
    time.sleep(2)
    for i in range(1, n + 1):
        t0 = time.monotonic(); STRATS[strat]("v%d" % i, D); per.append(round(time.monotonic() - t0, 2))
        time.sleep(0.5)
    time.sleep(2); stop.set(); t.join()
    res.pop("bodies")
    for c in api.containers(all=True, filters={"label": "duz=1"}):
        api.remove_container(c["Id"], force=True)
    print(json.dumps({"strategy": strat, "updates": n, "drain": D, "connect_timeout": ct, "load": os.getloadavg(), "durations": per, **res}))
