"""Benchmark, not a test: wall time of playbooks/readiness_report.yml for 1, 5 and 20 hosts.

Starts up to 20 postfix hosts (systemd containers on the dual-stack test network) from one image
made once from the test bed image with postfix, dnspython and bind9 (each host asks its own
named, which serves example.test, so DNS answers without leaving the host), runs the report
with one fork per host, and prints the wall time per size, wall(20)/wall(1) and the peak memory
of the largest controller process. Run from the checkout with the Makefile's environment, as root,
after `make testbed`:

    flock /tmp/molecule.lock python3 tests/bench/readiness_report.py [--sizes 1 5 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE = os.environ.get("DUALSTACK_TESTBED_IMAGE", "localhost/dualstack-testbed:bookworm")
NETWORK = os.environ.get("DUALSTACK_TESTBED_NETWORK", "dualstack-mta")
IMAGE = "localhost/dualstack-readiness-bench:bookworm"
PREFIX = "bench-rr-"
ZONE = """$TTL 60
@ IN SOA localhost. hostmaster.example.test. 1 60 60 600 60
@ IN NS localhost.
@ IN TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:25::/64 -all"
"""


def sh(*args: str, check: bool = True) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout


def build_image() -> None:
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode == 0:
        return
    name = PREFIX + "build"
    sh("podman", "rm", "-f", name, check=False)
    sh("podman", "run", "-d", "--name", name, "--network", NETWORK, "--systemd=always", BASE, "/sbin/init")
    script = (
        "export DEBIAN_FRONTEND=noninteractive; "
        "echo 'postfix postfix/main_mailer_type select Internet Site' | debconf-set-selections; "
        "echo 'postfix postfix/mailname string bench.example.test' | debconf-set-selections; "
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends postfix python3-dnspython bind9 >/dev/null; "
        "postconf -e inet_protocols=all; "
        "printf 'options { directory \"/var/cache/bind\"; recursion no; listen-on { 127.0.0.1; }; listen-on-v6 { none; }; };\\n' "
        "> /etc/bind/named.conf.options; "
        "echo 'zone \"example.test\" { type primary; file \"/etc/bind/db.example.test\"; };' > /etc/bind/named.conf.local; "
        "printf '%s' > /etc/bind/db.example.test" % ZONE.replace("\n", "\\n").replace('"', '\\"')
    )
    sh("podman", "exec", name, "systemctl", "is-system-running", "--wait", check=False)
    sh("podman", "exec", name, "bash", "-c", script)
    sh("podman", "stop", name)
    sh("podman", "commit", "-q", name, IMAGE)
    sh("podman", "rm", "-f", name)


def start(count: int) -> list[str]:
    names = ["%s%02d" % (PREFIX, i) for i in range(1, count + 1)]
    for name in names:
        sh("podman", "rm", "-f", name, check=False)
        sh("podman", "run", "-d", "--name", name, "--hostname", name + ".example.test", "--network", NETWORK,
           "--systemd=always", "--cap-add", "NET_ADMIN,NET_RAW,SYS_PTRACE", IMAGE, "/sbin/init")
    for name in names:
        sh("podman", "exec", name, "systemctl", "is-system-running", "--wait", check=False)
    return names


def run_report(names: list[str], workdir: pathlib.Path) -> tuple[float, dict]:
    inventory = workdir / "inventory.json"
    inventory.write_text(json.dumps({"all": {
        "hosts": {n: {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}
                  for n in names},
        "vars": {"readiness_report_resolver": ["127.0.0.1"], "readiness_report_dir": str(workdir / "out")}}}))
    started = time.monotonic()
    subprocess.run(["ansible-playbook", "-i", str(inventory), "-f", str(max(len(names), 5)),
                    str(ROOT / "playbooks" / "readiness_report.yml")], check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - started
    return wall, json.loads((workdir / "out" / "readiness.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    args = parser.parse_args()
    build_image()
    names = start(max(args.sizes))
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.sizes:
                walls = []
                for _run in range(args.runs):
                    wall, doc = run_report(names[:size], pathlib.Path(tmp))
                    assert len(doc["hosts"]) == size and all(r["mta"] == "postfix" for r in doc["hosts"]), doc["summary"]
                    walls.append(wall)
                results[size] = sorted(walls)[len(walls) // 2]
                print("hosts=%-3d wall median %.1f s (runs: %s)" % (size, results[size], ", ".join("%.1f" % w for w in walls)))
    finally:
        if not args.keep:
            for name in names:
                sh("podman", "rm", "-f", "-t", "0", name, check=False)
    if 1 in results and max(results) != 1:
        print("wall(%d)/wall(1) = %.2f" % (max(results), results[max(results)] / results[1]))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("largest controller process (ansible-playbook or a fork): %.0f MiB peak RSS" % (peak / 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
