# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every planned layout, built and run by the real sendmail in a network namespace.

For each layout fixture, intent and net.ipv6.bindv6only value the plan is
applied through ensure_port_entry, built with m4 and started; sendmail must
answer 220 on each intended address of both families, refuse connections on
the other addresses of the planned ports, and listen on exactly the sockets
the plan reports.  Nothing leaves the namespace.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from conftest import (
    CF_M4,
    HOSTNAME,
    IPV4,
    IPV6,
    M4,
    REPO,
    SENDMAIL,
    banner,
    listening,
    network_namespace,
    sendmail_running,
    wait_for,
)

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail import mc_ports
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.config_plan import plan_config
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.listen_plan import (
    ListenPlanError,
    plan_listen_document,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import Document

LAYOUTS = sorted((REPO / "tests/unit/plugins/module_utils/sendmail/fixtures/layouts").glob("*.mc"))
LAYOUTS += sorted(REPO.glob("tests/fixtures/stock/debian-*/sendmail.mc"))
EVERY = ["127.0.0.1", "::1", IPV4, IPV6]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces and sendmail"),
    pytest.mark.skipif(not (SENDMAIL and M4 and CF_M4.exists()), reason="needs m4, sendmail-bin and sendmail-cf"),
]

INTENTS = {
    "all+loopback-submission": [{"addresses": ["all"], "ports": ["smtp"]},
                                {"addresses": ["loopback"], "ports": ["submission"]}],
    "literals+loopback": [{"addresses": [IPV4, IPV6, "loopback"], "ports": [25]}],
}


@pytest.fixture(scope="module", params=[0, 1], ids=["bindv6only0", "bindv6only1"])
def netns(request):
    with network_namespace(f"dslp-{os.getpid()}-{request.param}",
                           sysctls=[f"net.ipv6.bindv6only={request.param}"]) as name:
        yield name, bool(request.param)


def apply(document, plan, bindv6only):
    """The plan's daemons in one edit, as sendmail_config applies them."""
    return Document.parse(plan_config(document, plan.daemons, [], [], bindv6only).after, document.syntax)


def build(text, workdir):
    """sendmail.cf from the .mc the way its system builds it: cf.m4 first where the file lacks it."""
    text = re.sub(r"include\(`[^']*/cf\.m4'\)", f"include(`{CF_M4}')", text)
    if str(CF_M4) not in text:
        text = f"include(`{CF_M4}')dnl\n" + text
    mc = workdir / "sendmail.mc"
    mc.write_text(text)
    done = subprocess.run([M4, str(mc)], cwd=str(workdir), capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, LC_ALL="C"), check=False)
    assert done.returncode == 0, done.stderr
    cf = workdir / "sendmail.cf"
    cf.write_text(done.stdout)
    return cf


def ss_form(entry, bindv6only):
    address, port = entry["address"], entry["port"]
    if entry["family"] == "inet6":
        if address == "::" and not bindv6only:
            return f"*:{port}"
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def intended(addresses):
    hosts = set()
    for address in addresses:
        hosts |= set(EVERY) if address == "all" else {"127.0.0.1", "::1"} if address == "loopback" else {address}
    return hosts


# The layouts and intents the planner refuses (the unit tests say why): here the refusal is the
# result checked, and any other refusal fails.
REFUSED = {
    ("conflicting.mc", "literals+loopback"),
    ("freebsd.mc", "all+loopback-submission"),
    ("slackware-no-daemons.mc", "all+loopback-submission"),
}


@pytest.mark.parametrize("intent", list(INTENTS), ids=list(INTENTS))
@pytest.mark.parametrize("path", LAYOUTS, ids=lambda path: path.parent.name + "/" + path.name)
def test_planned_layout_answers_on_exactly_the_intended_addresses(netns, path, intent, tmp_path):
    name, bindv6only = netns
    document = Document.parse(path.read_text())
    host = {"bindv6only": bindv6only, "addresses": EVERY}
    if (path.name, intent) in REFUSED:
        with pytest.raises(ListenPlanError):
            plan_listen_document(document, INTENTS[intent], host)
        return
    plan = plan_listen_document(document, INTENTS[intent], host)
    cf = build(apply(document, plan, bindv6only).render(), tmp_path)
    expected = sorted(ss_form(entry, bindv6only) for entry in plan.sockets)
    with open(tmp_path / "log", "w+") as log, sendmail_running(name, cf, tmp_path, log):
        wait_for(lambda: listening(name) == expected, 20,
                 lambda: f"sockets {listening(name)}, not {expected}: {plan.reasons}\n{log.read()}")
        ports = {}
        for item in INTENTS[intent]:
            for port in item["ports"]:
                ports.setdefault({"smtp": 25, "submission": 587}.get(port, port), set()).update(
                    intended(item["addresses"]))
        for port, hosts in ports.items():
            for host in EVERY:
                answer = banner(name, host, port)
                if host in hosts:
                    assert answer.startswith(f"220 {HOSTNAME}"), (host, port, answer)
                else:
                    assert answer == "refused", (host, port, answer)


def test_sendmail_daemon_on_a_file_without_daemons_keeps_ipv4_listening(netns, tmp_path):
    """The issue's case, through the module's planner: the first DAEMON_OPTIONS no longer ends the default."""
    name, bindv6only = netns
    document = Document.parse((REPO / "tests/unit/plugins/module_utils/sendmail/fixtures/layouts/"
                               "slackware-no-daemons.mc").read_text())
    plan = mc_ports.ensure_port_entry(document, "DAEMON_OPTIONS", "MTA-v6", "present",
                                      {"F": "inet6", "A": "::1"}, bindv6only)
    cf = build(plan.after, tmp_path)
    expected = ["0.0.0.0:25", "0.0.0.0:587", "[::1]:25"]
    with sendmail_running(name, cf, tmp_path):
        wait_for(lambda: listening(name) == expected, 20, lambda: f"sockets {listening(name)}, not {expected}")
        for host in ("127.0.0.1", IPV4, "::1"):
            assert banner(name, host, 25).startswith(f"220 {HOSTNAME}"), host
