# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How long a role takes on a test-bed host: first converge, then no-op runs against a floor.

For each role fresh containers are started; the role's playbook converges them once, then five
no-op runs alternate with the floor (``ansible -m ping`` on the same hosts, the cost of one
round trip through the connection). Printed: the first run, the medians, the no-op/floor
ratio and the number of tasks that ran a module on a host in each run. A benchmark, not a
test: it fails only when a run fails.

DUALSTACK_BENCH_HOSTS="1 20" runs it as a fleet too: N hosts with N forks, and for each N
after the first, wall(N)/wall(1) of the first converge, the no-op and the floor.
DUALSTACK_BENCH_ROLES="postfix" benches only the roles named; DUALSTACK_BENCH_RUNS=3, fewer no-op runs.
DUALSTACK_BENCH_CONNECTIONS="podman ssh" (the default) reaches the hosts through podman as root,
then over SSH as users do: the SSH variant of the image, the sudo account "admin" with become and
pipelining, and a key made for the run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGE = os.environ.get("DUALSTACK_TESTBED_IMAGE", "localhost/dualstack-testbed:bookworm")
NETWORK = os.environ.get("DUALSTACK_TESTBED_NETWORK", "dualstack-mta")
NOOP_RUNS = int(os.environ.get("DUALSTACK_BENCH_RUNS", "5"))
FLEETS = [int(n) for n in os.environ.get("DUALSTACK_BENCH_HOSTS", "1").split()]
CONNECTIONS = os.environ.get("DUALSTACK_BENCH_CONNECTIONS", "podman ssh").split()
SSH_ACCOUNT = "admin"  # the sudo account of the image's SSH variant (testbed/setup)
ROLES = {
    "sendmail": ("playbooks/sendmail_dual_stack.yml", "dualstack_sendmail_hosts"),
    "postfix": ("playbooks/postfix_dual_stack.yml", "dualstack_postfix_hosts"),
}
# Containers share the machine's load average: 20 hosts on 2 cores reach 25, and sendmail closes its
# sockets above RefuseLA (12 by default), so the role rightly refuses the change. Hosts of a real
# fleet have a load average each; the bench gives sendmail thresholds no container reaches, for
# one host and for N alike.
EXTRA_VARS = {
    "sendmail": {"sendmail_mc_settings": [{"define": "confREFUSE_LA", "value": "1000"},
                                          {"define": "confQUEUE_LA", "value": "1000"}]},
}
# Actions that run on the controller only; every other task result is a module run on the host.
LOCAL_ACTIONS = {
    "ansible.builtin.set_fact", "ansible.builtin.include_role", "ansible.builtin.include_tasks",
    "ansible.builtin.include_vars", "ansible.builtin.assert", "ansible.builtin.fail",
    "ansible.builtin.debug", "ansible.builtin.meta", "ansible.builtin.validate_argument_spec", "set_fact",
    "include_role", "include_tasks", "include_vars", "assert", "fail", "debug", "meta", "validate_argument_spec",
}


def run(command: list, env: dict, what: str) -> tuple:
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=REPO)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{what} failed (rc={done.returncode}):\n{failures(done.stdout)}\n{done.stderr[-4000:]}")
    return elapsed, done.stdout


def failures(json_output: str) -> str:
    """Each failed task's message, once per distinct message, with how many hosts had it."""
    try:
        plays = json.loads(json_output)["plays"]
    except (ValueError, KeyError):
        return json_output[-4000:]
    seen = {}
    for play in plays:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                if result.get("failed") or result.get("unreachable"):
                    key = "{}: {}".format(task["task"]["name"], str(result.get("msg", ""))[:1500])
                    seen[key] = seen.get(key, 0) + 1
    return "\n".join(f"{count} host(s): {key}" for key, count in seen.items())


def remote_calls(json_output: str, host: str) -> int:
    """Tasks that ran a module on ``host`` (skipped ones and controller-only actions excluded)."""
    calls = 0
    for play in json.loads(json_output)["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get(host)
            # The json callback names the action in each host's result, not in the task.
            if result is None or result.get("skipped") or result.get("action") in LOCAL_ACTIONS:
                continue
            calls += len(result.get("results", [])) or 1
    return calls


def start_hosts(names: list[str], image: str) -> None:
    for name in names:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True, check=False)
        subprocess.run(["podman", "run", "-d", "--name", name, "--hostname", name + ".example.test",
                        "--network", NETWORK, "--cap-add", "NET_ADMIN,NET_RAW,SYS_PTRACE", "--systemd", "always",
                        image, "/sbin/init"], capture_output=True, check=True)
    for name in names:
        subprocess.run(["podman", "exec", name, "systemctl", "is-system-running", "--wait"],
                       capture_output=True, check=False, timeout=120)


def podman_inventory(hosts: list[str], _workdir: Path) -> dict[str, dict[str, object]]:
    return {host: {"ansible_connection": "containers.podman.podman", "ansible_user": "root",
                   "ansible_python_interpreter": "/usr/bin/python3"} for host in hosts}


def ssh_inventory(hosts: list[str], workdir: Path) -> dict[str, dict[str, object]]:
    """Each host's key authorised for the sudo account; the hosts reached at their IPv4 address."""
    key = workdir / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(key)], check=True)
    public = (workdir / "id_ed25519.pub").read_text()
    home = f"/home/{SSH_ACCOUNT}/.ssh"
    inventory = {}
    for host in hosts:
        subprocess.run(["podman", "exec", "-i", host, "sh", "-c",
                        f"install -d -m 700 -o {SSH_ACCOUNT} -g {SSH_ACCOUNT} {home} && cat > {home}/authorized_keys && "
                        f"chown {SSH_ACCOUNT}: {home}/authorized_keys && chmod 600 {home}/authorized_keys"],
                       input=public, text=True, capture_output=True, check=True)
        address = subprocess.run(["podman", "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{NETWORK}").IPAddress}}}}', host],
                                 capture_output=True, text=True, check=True).stdout.strip()
        inventory[host] = {
            "ansible_host": address, "ansible_connection": "ssh", "ansible_user": SSH_ACCOUNT, "ansible_become": True,
            "ansible_ssh_private_key_file": str(key), "ansible_ssh_pipelining": True,
            "ansible_ssh_common_args": f"-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new "
                                       f"-o UserKnownHostsFile={workdir / 'known_hosts'}",
            "ansible_python_interpreter": "/usr/bin/python3"}
    return inventory


def wait_for_hosts(floor: list[str], env: dict[str, str]) -> None:
    """Until every host answers a ping through its connection (sshd starts after systemd says running)."""
    deadline = time.monotonic() + 90
    while subprocess.run(floor, env=env, capture_output=True, check=False, cwd=REPO).returncode != 0:
        if time.monotonic() > deadline:
            run(floor, env, "reaching the hosts")  # fails with the reason
        time.sleep(2)


# How the bench reaches its hosts: the image and the inventory entries of each connection.
CONNECTION_SETUP = {
    "podman": (IMAGE, podman_inventory),
    "ssh": (IMAGE + "-ssh", ssh_inventory),
}


def bench(role: str, playbook: str, hosts_var: str, workdir: Path, count: int, connection: str) -> dict:
    hosts = [f"bench-{role}-{number}" for number in range(count)]
    image, inventory_of = CONNECTION_SETUP[connection]
    inventory = workdir / f"bench-{role}-{count}-{connection}.yml"
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", LC_ALL="C.UTF-8")
    forks = ["--forks", str(count)]
    converge = ["ansible-playbook", "-i", str(inventory), *forks, "-e", f"{hosts_var}=all",
                "-e", json.dumps(EXTRA_VARS.get(role, {})), playbook]
    floor = ["ansible", "all", "-i", str(inventory), *forks, "-m", "ansible.builtin.ping"]
    start_hosts(hosts, image)
    try:
        inventory.write_text(json.dumps({"all": {"hosts": inventory_of(hosts, workdir)}}))
        wait_for_hosts(floor, env)
        first, output = run(converge, env, f"{role} first converge")
        first_calls = remote_calls(output, hosts[0])
        floors, noops, noop_calls = [], [], []
        for _run in range(NOOP_RUNS):
            floors.append(run(floor, env, "ping")[0])
            elapsed, output = run(converge, env, f"{role} no-op converge")
            noops.append(elapsed)
            noop_calls.append(remote_calls(output, hosts[0]))
    finally:
        subprocess.run(["podman", "rm", "-f", *hosts], capture_output=True, check=False)
    return {
        "role": role, "via": connection, "hosts": count, "first_s": first, "first_calls": first_calls,
        "noop_median_s": statistics.median(noops), "floor_median_s": statistics.median(floors),
        "noop_calls": sorted(set(noop_calls)),
    }


def main() -> None:
    suite = IMAGE.rsplit(":", 1)[-1]
    images = [suite] + ([f"{suite}-ssh"] if "ssh" in CONNECTIONS else [])
    # testbed/setup builds our own images by suite; any other image it only checks for.
    subprocess.run([str(REPO / "testbed" / "setup"), *(images if "DUALSTACK_TESTBED_IMAGE" not in os.environ else [])], check=True)
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        wanted = os.environ.get("DUALSTACK_BENCH_ROLES", " ".join(ROLES)).split()
        for connection in CONNECTIONS:
            for role, (playbook, hosts_var) in ROLES.items():
                if role not in wanted:
                    continue
                for count in FLEETS:
                    results.append(bench(role, playbook, hosts_var, Path(workdir), count, connection))
    header = ("role", "via", "hosts", "first s", "calls", "no-op med s", "floor med s", "ratio", "calls")
    print("{:<9} {:<6} {:>5} {:>9} {:>6} {:>12} {:>12} {:>6} {:>8}".format(*header))
    for item in results:
        print("{:<9} {:<6} {:5d} {:9.1f} {:6d} {:12.1f} {:12.1f} {:6.1f} {:>8}".format(
            item["role"], item["via"], item["hosts"], item["first_s"], item["first_calls"], item["noop_median_s"],
            item["floor_median_s"], item["noop_median_s"] / item["floor_median_s"],
            "/".join(map(str, item["noop_calls"]))))
    # A fleet against one host: how the wall time grows with N hosts and N forks.
    for item in results:
        one = next((r for r in results if (r["role"], r["via"], r["hosts"]) == (item["role"], item["via"], 1)), None)
        if one is not None and item["hosts"] > 1:
            print("{} via {}: {} hosts / 1 host: first {:.1f}x, no-op {:.1f}x, floor {:.1f}x".format(
                item["role"], item["via"], item["hosts"], item["first_s"] / one["first_s"],
                item["noop_median_s"] / one["noop_median_s"], item["floor_median_s"] / one["floor_median_s"]))


if __name__ == "__main__":
    main()
