"""Where the module's no-op time goes compared with a trivial playbook (run after bench/run.sh, with the
same environment: `bench/run.sh --profile` does it).

1. Whole playbooks, median of --reps: trivial ping; the module with an empty list in an empty scope
   (Ansible + AnsiballZ + the module's imports, no engine work); the module's no-op at N containers.
2. The AnsiballZ payloads alone (ANSIBLE_KEEP_REMOTE_FILES=1, then run with the target's Python):
   what the target side costs for ping and for the module's no-op.
3. The module's heaviest imports on the target (python -X importtime on the payload).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402


def timed(cmd, env=None):
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=HERE,
                          check=False)
    if proc.returncode:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), proc.stdout[-3000:]))
    return time.monotonic() - start


def playbook(name, extra=None):
    cmd = ["ansible-playbook", "-i", bench.INVENTORY, os.path.join(bench.PLAYBOOKS, name)]
    return cmd + (["-e", "@" + extra] if extra else [])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="dubench-profile-")
    empty = os.path.join(work, "empty.json")
    with open(empty, "w") as handle:
        json.dump({"bench_scope": "dubench-empty", "bench_cache": os.path.join(bench.WORK, "cache"),
                   "bench_containers": []}, handle)
    full = bench.write_inputs("module", args.n, 0)
    report = {}
    try:
        bench.cleanup()
        timed(playbook("module.yml", full))  # converge once; what follows is the no-op
        cases = [("trivial ping playbook", playbook("trivial-ping.yml")),
                 ("module, empty list (no engine work)", playbook("module.yml", empty)),
                 ("module, no-op, N=%d" % args.n, playbook("module.yml", full))]
        samples = {title: [] for title, dummy in cases}
        for dummy in range(args.reps):  # interleaved, so that all three see the same load
            for title, cmd in cases:
                samples[title].append(timed(cmd))
        print("1. whole playbook, median of %d (s)" % args.reps)
        for title, values in samples.items():
            report[title] = statistics.median(values)
            print("   %-40s %6.3f" % (title, report[title]))

        keep = os.path.join(work, "remote")
        env = dict(os.environ, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=keep)
        timed(playbook("trivial-ping.yml"), env)
        timed(playbook("module.yml", full), env)
        python = os.environ.get("ANSIBLE_PYTHON_INTERPRETER", sys.executable)
        print("2. AnsiballZ payload alone on the target, median of %d (s)" % args.reps)
        payloads = {}
        for name in ("ping", "containers"):
            path = glob.glob(os.path.join(keep, "*", "AnsiballZ_%s.py" % name))[0]
            payloads[name] = path
            values = [timed([python, path]) for dummy in range(args.reps)]
            report["payload " + name] = statistics.median(values)
            size = os.path.getsize(path) // 1024
            print("   %-40s %6.3f  (%d KB)" % ("AnsiballZ_%s.py" % name, report["payload " + name], size))

        print("3. heaviest imports of the module payload (cumulative ms, one run)")
        proc = subprocess.run([python, "-X", "importtime", payloads["containers"]], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=work, check=False)
        rows = []
        for line in proc.stderr.splitlines():
            found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
            if found:
                rows.append((int(found.group(2)), len(found.group(3)), found.group(4)))
        # (certifi shows up in every Python start here: a site-packages .pth imports it, ping included)
        wanted = ("ansible.module_utils.basic", "docker", "requests", "urllib3", "charset_normalizer",
                  "jsonschema", "yaml", "http.client")
        for cumulative, depth, name in sorted(rows, reverse=True):
            if name in wanted or name.startswith("ansible_collections.dockerup"):
                print("   %-70s %6.1f" % (name, cumulative / 1000.0))
    finally:
        bench.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
