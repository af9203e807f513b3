# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Real m4, cf macros and sendmail for the sendmail modules' tests.

Everything that runs sendmail (the modules' ``sendmail -bC`` check and the
daemons) runs inside a network namespace created here, with only loopback and
a dummy interface holding documentation addresses, and in its own UTS
namespace with an FQDN host name (sendmail stalls without one).  Nothing
leaves the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).with_name("ansible"))
DEBIAN_MC = Path("/etc/mail/sendmail.mc")
CF_M4 = Path("/usr/share/sendmail/cf/m4/cf.m4")
SENDMAIL = shutil.which("sendmail", path="/usr/sbin:/usr/lib:" + os.environ.get("PATH", ""))
M4 = shutil.which("m4")
POSTFIX_ROOT_BUILDER = Path(__file__).with_name("postfix-root")
HOSTNAME = "mx.example.test"
IPV4, IPV6 = "198.51.100.10", "2001:db8:25::10"

# Each test module that runs sendmail sets ``pytestmark = REQUIRES_SENDMAIL``.
REQUIRES_SENDMAIL = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces and sendmail"),
    pytest.mark.skipif(not (SENDMAIL and M4 and CF_M4.exists() and DEBIAN_MC.exists()),
                       reason="needs m4, sendmail-bin and sendmail-cf (Debian packages) with /etc/mail/sendmail.mc"),
]

# Test modules that run postconf in the postfix root (``postfix_root``) set these marks.
REQUIRES_POSTFIX_ROOT = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for chroot, mounts and network namespaces"),
    pytest.mark.skipif(not shutil.which("debootstrap"), reason="needs debootstrap (testbed/host-deps)"),
]

MTA_V4 = "DAEMON_OPTIONS(`Family=inet,  Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl"
COMMENTED_MTA_V6 = "dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl"


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until true; ``what()`` describes the state on failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what()}")


@contextlib.contextmanager
def network_namespace(name, sysctls=(), ipv4=True, ipv6=True):
    """A network namespace with loopback up and the test addresses (IPV4, IPV6) on a dummy
    interface, or on loopback where the kernel has no dummy; ``sysctls`` ("key=value") are set
    first. Every process still in it is killed before it is removed."""
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        def ns(*args, check=True):
            return subprocess.run(["ip", "netns", "exec", name] + list(args), check=check,
                                  capture_output=True, timeout=10).returncode == 0

        for sysctl in sysctls:
            ns("sysctl", "-q", "-w", sysctl)
        ns("ip", "link", "set", "lo", "up")
        if ipv4 or ipv6:
            device = "dummy0" if ns("ip", "link", "add", "dummy0", "type", "dummy", check=False) else "lo"
            ns("ip", "link", "set", device, "up")
            if ipv4:
                ns("ip", "addr", "add", IPV4 + "/24", "dev", device)
            if ipv6:
                ns("ip", "-6", "addr", "add", IPV6 + "/64", "dev", device, "nodad")
        yield name
    finally:
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, timeout=10, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)


@pytest.fixture(scope="module")
def netns():
    with network_namespace(f"dsmta-{os.getpid()}") as name:
        yield name


def in_netns(netns, command):
    """``command`` inside the namespace, with its own FQDN host name."""
    return (["ip", "netns", "exec", netns, "unshare", "--uts", "--", "sh", "-c",
             f'hostname {HOSTNAME} && exec "$@"', "sh"] + list(command))


def run_module(netns, module, check=False, diff=False, **args):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", LC_ALL="C.UTF-8")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".cache" / "collections"))
    command = [ANSIBLE, "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable,
               "-m", "dualstack.mta." + module, "-a", json.dumps(args)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    done = subprocess.run(in_netns(netns, command), env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no module result (rc={done.returncode}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture
def mc(tmp_path):
    path = tmp_path / "sendmail.mc"
    shutil.copyfile(DEBIAN_MC, path)
    path.chmod(0o644)
    return path


def build_cf(mc_path):
    done = subprocess.run([M4, str(mc_path)], cwd=str(mc_path.parent), capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, LC_ALL="C"), check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    cf = mc_path.with_suffix(".cf")
    cf.write_text(done.stdout)
    return cf


@contextlib.contextmanager
def sendmail_running(netns, cf, workdir, log=subprocess.DEVNULL):
    """sendmail in the foreground from ``cf`` inside the namespace, stopped (and waited for) at the end."""
    queue = workdir / "queue"
    queue.mkdir(mode=0o700, exist_ok=True)
    command = in_netns(netns, [SENDMAIL, "-bD", "-C", str(cf), "-O", f"PidFile={workdir / 'pid'}",
                               "-O", f"QueueDirectory={queue}", "-O", "HostStatusDirectory="])
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=3)  # sendmail ignores TERM while it retries a bind
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=10)


@pytest.fixture
def start_sendmail(netns, tmp_path):
    """Start sendmail from a .cf, logging to sendmail.log; stopped after the test."""
    with contextlib.ExitStack() as stack:
        def start(cf):
            log = stack.enter_context(open(tmp_path / "sendmail.log", "w+"))
            return stack.enter_context(sendmail_running(netns, cf, tmp_path, log)), tmp_path / "sendmail.log"

        yield start


def listening(netns):
    out = subprocess.run(["ip", "netns", "exec", netns, "ss", "-ltnH"], capture_output=True, text=True,
                         timeout=10, check=True).stdout
    return sorted(line.split()[3] for line in out.splitlines() if line.strip())


def banner(netns, host, port=25):
    """The first line an SMTP server sends, read from inside the namespace, or "refused"."""
    script = ('import socket,sys\n'
              'try:\n'
              '    s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=10)\n'
              '    print(s.makefile().readline().strip())\n'
              'except ConnectionRefusedError:\n'
              '    print("refused")\n')
    done = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", script, host, str(port)],
                          capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip()


@pytest.fixture
def mounts():
    """Mount points a test makes; unmounted afterwards, last first."""
    made = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", str(point)], capture_output=True, timeout=30, check=False)


def fill(directory, room):
    """Fill the file system of ``directory`` so that between ``room`` and ``room`` + 4 KiB stay free."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    size = os.path.getsize(filler)
    while size > 0:
        info = os.statvfs(directory)
        if info.f_bavail * info.f_frsize >= room:
            return
        size = max(0, size - 4096)
        os.truncate(filler, size)


def _sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=check)


@pytest.fixture(scope="module")
def postfix_root():
    """Debian's postfix in a root of its own (built once by ``postfix-root``), under an overlay
    for this test module, with /proc and /dev; the package's /etc/postfix is kept beside it as
    ``pristine``."""
    done = subprocess.run([str(POSTFIX_ROOT_BUILDER)], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        pytest.skip(f"no postfix root file system: {done.stderr.strip()[-300:]}")
    lower = done.stdout.strip().splitlines()[-1]
    work = Path(tempfile.mkdtemp(prefix="dsmta-postfix-"))
    merged = work / "root"
    for name in ("upper", "work", "root"):
        (work / name).mkdir()
    mounted = []
    try:
        _sh("mount", "-t", "overlay", "overlay", "-o",
            "lowerdir={},upperdir={},workdir={}".format(lower, work / "upper", work / "work"), str(merged))
        mounted.append(merged)
        _sh("mount", "-t", "proc", "proc", str(merged / "proc"))
        mounted.append(merged / "proc")
        _sh("mount", "--rbind", "/dev", str(merged / "dev"))  # with /dev/pts: postfix check wants a terminal
        mounted.append(merged / "dev")
        shutil.copytree(merged / "etc" / "postfix", work / "pristine", symlinks=True)
        yield merged
    finally:
        for point in reversed(mounted):
            _sh("umount", "-R", str(point), check=False)
        shutil.rmtree(work, ignore_errors=True)


def run_postconf(root, netns=None, check=False, diff=False, timeout=120, _module="dualstack.mta.postconf", **args):
    """dualstack.mta.postconf (or ``_module``) in ``root`` through ansible's chroot connection, with the root's python3."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", LC_ALL="C.UTF-8")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / ".cache" / "collections"))
    command = ([] if netns is None else ["ip", "netns", "exec", netns]) + [
        ANSIBLE, "all", "-i", f"{root},", "-c", "community.general.chroot",
        "-e", "ansible_python_interpreter=/usr/bin/python3", "-m", _module, "-a", json.dumps(args)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    try:
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][str(root)]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no module result (rc={done.returncode}):\n{done.stdout}\n{done.stderr}")
