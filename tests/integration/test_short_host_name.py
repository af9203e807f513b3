# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sendmail modules on a host whose name has no domain, with the real m4 and sendmail.

sendmail prints ``WARNING: local host name (...) is not qualified`` for a host
name without a domain, and when the short name resolves without one (a
``127.0.1.1 shorthost`` line in /etc/hosts, as many VMs and containers have) it
sleeps 60 s first.  Each run here happens in a network namespace (no DNS
reachable, nothing leaves the machine), a UTS namespace named ``shorthost`` and
a mount namespace whose /etc/hosts has exactly that line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import DEBIAN_MC, REPO, SENDMAIL, network_namespace

COLLECTIONS = REPO / ".cache" / "collections"
SHORT_NAME = "shorthost"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces"),
    pytest.mark.skipif(not (SENDMAIL and shutil.which("m4") and DEBIAN_MC.exists()),
                       reason="needs m4, sendmail-bin and sendmail-cf with /etc/mail/sendmail.mc"),
    pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux)"),
]


@pytest.fixture(scope="module")
def netns():
    with network_namespace(f"dsmta-short-{os.getpid()}", ipv4=False, ipv6=False) as name:
        yield name


def short_host(netns, tmp_path, command):
    """``command`` under the short host name, with a hosts file that knows it without a domain."""
    hosts = tmp_path / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n127.0.1.1 {SHORT_NAME}\n::1 localhost\n")
    script = (f'mount --make-rprivate / && mount --bind "$0" /etc/hosts && hostname {SHORT_NAME} && exec "$@"')
    return ["ip", "netns", "exec", netns, "unshare", "--uts", "--mount", "--", "sh", "-c", script, str(hosts)] + list(
        command)


def run_module(netns, tmp_path, module, prefix=(), **args):
    """Run the module file directly (as Ansible does on the host) under a short host name."""
    args_file = tmp_path / (f"args-{time.monotonic_ns()}.json")
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    command = short_host(netns, tmp_path, list(prefix) + [
        sys.executable, str(REPO / "plugins" / "modules" / (module + ".py")), str(args_file)])
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS), LC_ALL="C.UTF-8")
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, check=False)
    try:
        result = json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"no module result (rc={done.returncode}):\n{done.stdout}\n{done.stderr}")
    result["warnings"] = [warning["event"]["msg"] if isinstance(warning, dict) else warning
                          for warning in result.get("warnings", [])]
    return result, time.monotonic() - started


@pytest.fixture
def mc(tmp_path):
    path = tmp_path / "sendmail.mc"
    shutil.copyfile(DEBIAN_MC, path)
    return path


@pytest.mark.parametrize("module, args", [
    ("sendmail_mc", dict(feature="nocanonify")),
    ("sendmail_daemon", dict(name="MTA-v6", family="inet6", addr="::1", port="smtp")),
    ("sendmail_client", dict(name="out6", family="inet6", addr="::1")),
])
def test_modules_change_quickly_and_warn_once(netns, tmp_path, mc, module, args):
    result, seconds = run_module(netns, tmp_path, module, path=str(mc), **args)
    assert result["changed"] and not result.get("failed"), result
    assert seconds < 20, seconds
    host_warnings = [warning for warning in result["warnings"] if SHORT_NAME in warning]
    assert len(host_warnings) == 1 and f"stand-in name {SHORT_NAME}.invalid" in host_warnings[0]
    assert f"127.0.1.1 {SHORT_NAME}.example.com {SHORT_NAME}" in host_warnings[0]


def test_real_errors_still_fail_under_a_short_name(netns, tmp_path, mc):
    cf = tmp_path / "sendmail.cf"
    cf.write_text(subprocess.run(["m4", str(mc)], capture_output=True, text=True, check=True).stdout
                  + "O Timeout.connect=5x\n")
    before = cf.read_bytes()
    # The old fault is still found under the stand-in name and reported; bad input is still refused.
    result, dummy = run_module(netns, tmp_path, "sendmail_daemon", path=str(cf), name="MTA-v6", family="inet6",
                               addr="::1")
    assert not result.get("failed"), result
    assert any("already has a problem" in w and "Invalid time unit" in w for w in result["warnings"])
    before = cf.read_bytes()
    result, dummy = run_module(netns, tmp_path, "sendmail_daemon", path=str(cf), name="MTA-v6",
                               options={"DeliveryMode": "z"})
    assert result.get("failed") and "must be one of" in result["msg"], result
    assert cf.read_bytes() == before


def test_without_a_private_namespace_the_check_waits_but_passes(netns, tmp_path, mc):
    """No CAP_SYS_ADMIN (an unprivileged container): the check cannot rename the host.

    This is also sendmail's own behaviour under the short name, measured: the 60 s wait and the
    upper-case warning, which is passed on as a warning.
    """
    drop = ["setpriv", "--inh-caps=-sys_admin", "--bounding-set=-sys_admin", "--"]
    result, seconds = run_module(netns, tmp_path, "sendmail_mc", prefix=drop, path=str(mc), feature="nocanonify")
    assert result["changed"] and not result.get("failed"), result
    assert seconds >= 59
    assert any("ran under the short name" in warning for warning in result["warnings"])
    assert f"WARNING: local host name ({SHORT_NAME}) is not qualified; see cf/README: WHO AM I?" in result["warnings"]
