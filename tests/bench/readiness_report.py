"""Benchmark, not a test: wall time of playbooks/readiness_report.yml for 1, 5 and 20 hosts.

Starts up to 20 postfix hosts (systemd containers on the dual-stack test network) from one image
made once from the test bed image with postfix, dnspython and bind9. Each host asks its own named,
which serves example.test and the reverse zones of the host's own two addresses, so every DNS
check runs its full course (PTR, FCrDNS, SPF, HELO all pass) without a query leaving the host:
every row must read "ready", or the run does not count.

The sizes take turns (1, 5, 20, 1, 5, 20, ...), so that a change in the machine's load falls on
all of them. Prints per size the wall time of each run of ansible-playbook (one fork per host
unless --forks), its median, the CPU time of the controller's processes (ansible-playbook, its
forks and the podman clients they start; not the module inside the container), the load average
before each run (other work on the machine shares its cores), the peak RSS of the
ansible-playbook process itself and the peak of the summed PSS of its whole process tree,
sampled every 0.1 s; and the floor, ``ansible -m ping`` on the same hosts with the same forks
right after each run (the least any play costs through this connection). Then wall(largest)/wall(1)
for the report and for the floor. The hosts are removed at the end. Run from the checkout with the Makefile's environment, as
root, after `make testbed`:

    flock /tmp/molecule-bench.lock python3 tests/bench/readiness_report.py [--sizes 1 5 20] [--runs 5] [--forks N]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASE = os.environ.get("DUALSTACK_TESTBED_IMAGE", "localhost/dualstack-testbed:bookworm")
NETWORK = os.environ.get("DUALSTACK_TESTBED_NETWORK", "dualstack-mta")
# Change the tag when the recipe below changes, so an old image is not reused.
IMAGE = "localhost/dualstack-readiness-bench:bookworm-2"
PREFIX = "bench-rr-"
DOMAIN = "example.test"
RECIPE = (
    "export DEBIAN_FRONTEND=noninteractive; "
    "echo 'postfix postfix/main_mailer_type select Internet Site' | debconf-set-selections; "
    "echo 'postfix postfix/mailname string bench.example.test' | debconf-set-selections; "
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends postfix python3-dnspython bind9 >/dev/null; "
    # the HELO name must follow each container's host name, not the one the image was built on
    "postconf -e inet_protocols=all && postconf -X myhostname; "
    "printf 'options { directory \"/var/cache/bind\"; recursion no; listen-on { 127.0.0.1; }; listen-on-v6 { none; }; };\\n' "
    "> /etc/bind/named.conf.options"
)


def sh(*args: str, check: bool = True, stdin: str | None = None) -> str:
    return subprocess.run(args, check=check, capture_output=True, text=True, input=stdin).stdout


def load() -> str:
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def build_image() -> None:
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode == 0:
        return
    name = PREFIX + "build"
    sh("podman", "rm", "-f", name, check=False)
    sh("podman", "run", "-d", "--name", name, "--network", NETWORK, "--systemd=always", BASE, "/sbin/init")
    try:
        sh("podman", "exec", name, "systemctl", "is-system-running", "--wait", check=False)
        sh("podman", "exec", name, "bash", "-c", RECIPE)
        sh("podman", "stop", name)
        sh("podman", "commit", "-q", name, IMAGE)
    finally:
        sh("podman", "rm", "-f", "-t", "0", name, check=False)


def zones(name: str, ipv4: str, ipv6: str) -> str:
    """A shell script that makes the host's named answer for its own name and addresses."""
    import ipaddress  # noqa: PLC0415 - only here

    fqdn = f"{name}.{DOMAIN}."
    soa = f"$TTL 60\n@ IN SOA localhost. hostmaster.{DOMAIN}. 1 60 60 600 60\n@ IN NS localhost.\n"
    files = {
        DOMAIN: soa + '@ IN TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:25::/64 -all"\n'
                      f"{fqdn} IN A {ipv4}\n{fqdn} IN AAAA {ipv6}\n",
        ipaddress.ip_address(ipv4).reverse_pointer: soa + f"@ IN PTR {fqdn}\n",
        ipaddress.ip_address(ipv6).reverse_pointer: soa + f"@ IN PTR {fqdn}\n",
    }
    script = ["set -e", ": > /etc/bind/named.conf.local"]
    for zone, text in files.items():
        script.append(f"cat > '/etc/bind/db.{zone}' <<'EOF'\n{text}EOF")
        script.append(f"echo 'zone \"{zone}\" {{ type primary; file \"/etc/bind/db.{zone}\"; }};' >> /etc/bind/named.conf.local")
    script.append("systemctl restart named")
    return "\n".join(script) + "\n"


def addresses(name: str) -> tuple[str, str]:
    found = {}
    for entry in json.loads(sh("podman", "exec", name, "ip", "-j", "addr", "show", "scope", "global")):
        for info in entry.get("addr_info", []):
            if "family" in info:
                found.setdefault(info["family"], info["local"])
    return found["inet"], found["inet6"]


def start(names: list[str]) -> None:
    for name in names:
        sh("podman", "rm", "-f", "-t", "0", name, check=False)
        sh("podman", "run", "-d", "--name", name, "--hostname", f"{name}.{DOMAIN}", "--network", NETWORK,
           "--systemd=always", "--cap-add", "NET_ADMIN,NET_RAW", IMAGE, "/sbin/init")
    for name in names:
        state = sh("podman", "exec", name, "timeout", "120", "systemctl", "is-system-running", "--wait", check=False).strip()
        if state not in ("running", "degraded"):
            sys.exit("{}: systemd did not finish starting ({}). With many systemd containers on one machine the "
                     "usual cause is fs.inotify.max_user_instances (now {}): raise it, e.g. "
                     "sysctl -w fs.inotify.max_user_instances=1024".format(name, state or "no answer", _inotify_limit()))
        sh("podman", "exec", "-i", name, "bash", stdin=zones(name, *addresses(name)))


def _inotify_limit() -> str:
    return pathlib.Path("/proc/sys/fs/inotify/max_user_instances").read_text().strip()


def _tree(root: int) -> list[int]:
    """root and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(pathlib.Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _kib(path: str, field: str) -> int:
    try:
        for line in pathlib.Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Peak summed PSS of a process tree, and the peak RSS (VmHWM) of its root."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.tree_pss, self.root_hwm, self.done = pid, 0, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.root_hwm = max(self.root_hwm, _kib(f"/proc/{self.pid}/status", "VmHWM"))
            self.tree_pss = max(self.tree_pss, sum(_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in _tree(self.pid)))
            self.done.wait(0.1)


def run_report(names: list[str], forks: int, workdir: pathlib.Path) -> dict[str, t.Any]:
    inventory = workdir / "inventory.json"
    inventory.write_text(json.dumps({"all": {
        "hosts": {n: {"ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}
                  for n in names},
        "vars": {"readiness_report_resolver": ["127.0.0.1"], "readiness_report_dir": str(workdir / "out")}}}))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = {"load": load()}
    started = time.monotonic()
    process = subprocess.Popen(["ansible-playbook", "-i", str(inventory), "-f", str(forks),
                                str(ROOT / "playbooks" / "readiness_report.yml")], stdout=subprocess.DEVNULL)
    sampler = Sampler(process.pid)
    sampler.start()
    if process.wait() != 0:
        sys.exit(f"ansible-playbook failed (rc={process.returncode})")
    run["wall"] = time.monotonic() - started
    sampler.done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run["cpu"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    run["hwm"], run["pss"] = sampler.root_hwm, sampler.tree_pss
    doc = json.loads((workdir / "out" / "readiness.json").read_text())
    if len(doc["hosts"]) != len(names) or any(r["verdict"] != "ready" for r in doc["hosts"]):
        sys.exit("not every host read as ready: {}".format(json.dumps(doc["hosts"][:2], indent=1)[:3000]))
    # The floor: one ping module on the same hosts with the same forks, the least a play can cost.
    started = time.monotonic()
    subprocess.run(["ansible", "all", "-i", str(inventory), "-f", str(forks), "-m", "ansible.builtin.ping"],
                   check=True, stdout=subprocess.DEVNULL)
    run["floor"] = time.monotonic() - started
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--forks", type=int, help="forks for every size (default: one per host)")
    parser.add_argument("--keep", action="store_true", help="leave the hosts running")
    args = parser.parse_args()
    build_image()
    names = [f"{PREFIX}{i:02d}" for i in range(1, max(args.sizes) + 1)]
    runs: dict[int, list[dict[str, t.Any]]] = {size: [] for size in args.sizes}
    try:
        start(names)
        with tempfile.TemporaryDirectory() as tmp:
            # Sizes take turns, so that a change in the machine's load falls on every size alike.
            for _round in range(args.runs):
                for size in args.sizes:
                    runs[size].append(run_report(names[:size], args.forks or size, pathlib.Path(tmp)))
    finally:
        if not args.keep:
            for name in names:
                sh("podman", "rm", "-f", "-t", "0", name, check=False)
    medians, floors = {}, {}
    for size, done in runs.items():
        medians[size] = statistics.median(r["wall"] for r in done)
        floors[size] = statistics.median(r["floor"] for r in done)
        print("hosts={} forks={}: wall median {:.1f} s (runs {}); ping floor median {:.1f} s; controller CPU median {:.1f} s; "
              "load (1/5/15 min) before each run: {}; ansible-playbook peak RSS {} MiB; process tree peak PSS {} MiB".format(
                  size, args.forks or size, medians[size], " ".join("{:.1f}".format(r["wall"]) for r in done), floors[size],
                  statistics.median(r["cpu"] for r in done), " | ".join(r["load"] for r in done),
                  max(r["hwm"] for r in done) // 1024, max(r["pss"] for r in done) // 1024))
    if 1 in medians and max(medians) != 1:
        print(f"wall({max(medians)})/wall(1) = {medians[max(medians)] / medians[1]:.2f}; "
              f"the ping floor's ratio: {floors[max(floors)] / floors[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
