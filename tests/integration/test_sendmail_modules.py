# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sendmail_daemon, sendmail_client and sendmail_mc against the real m4, cf macros and sendmail.

Everything that runs sendmail (the modules' ``sendmail -bC`` check and the
daemons) runs inside a network namespace created here, with only loopback and
a dummy interface holding documentation addresses, and in its own UTS
namespace with an FQDN host name (sendmail stalls without one).  Nothing
leaves the machine.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import (
    COMMENTED_MTA_V6,
    HOSTNAME,
    IPV4,
    IPV6,
    MTA_V4,
    REQUIRES_SENDMAIL,
    banner,
    build_cf,
    listening,
    run_module,
    wait_for,
)

pytestmark = REQUIRES_SENDMAIL


# --- idempotence, check mode, diff, backup ----------------------------------------

def test_check_apply_check_apply(netns, mc):
    args = dict(path=str(mc), name="MTA-v6", family="inet6", addr=IPV6, port="smtp")
    original = mc.read_bytes()

    first = run_module(netns, "sendmail_daemon", check=True, diff=True, **args)
    assert first["changed"] and first["rebuild_needed"] and mc.read_bytes() == original
    assert f"Addr={IPV6}''" in first["diff"]["after"]

    second = run_module(netns, "sendmail_daemon", backup=True, **args)
    assert second["changed"] and second["entry"]["state"] == "present"
    assert Path(second["backup_file"]).read_bytes() == original

    third = run_module(netns, "sendmail_daemon", check=True, **args)
    fourth = run_module(netns, "sendmail_daemon", **{**args, "addr": IPV6.upper()})
    assert not third["changed"] and not fourth["changed"] and not fourth["rebuild_needed"]
    assert f"O DaemonPortOptions=Family=inet6, Name=MTA-v6, Port=smtp, Addr={IPV6}" in \
        build_cf(mc).read_text().splitlines()


def test_smart_host_masquerading_and_log_level_as_a_short_list(netns, mc):
    tasks = [
        dict(define="SMART_HOST", value="[mx.dnl.example.com]"),
        dict(feature="nocanonify"),
        dict(feature="accept_unresolvable_domains"),
        dict(masquerade_as="FEATURE.gnu.example"),
        dict(masquerade_domain="ostype.example"),
        dict(exposed_user="define"),
        dict(define="confLOG_LEVEL", value="15"),
    ]
    for task in tasks:
        assert run_module(netns, "sendmail_mc", path=str(mc), **task)["changed"], task
        assert not run_module(netns, "sendmail_mc", path=str(mc), **task)["changed"], task
    lines = build_cf(mc).read_text().splitlines()
    for expected in ("DS[mx.dnl.example.com]", "DMFEATURE.gnu.example", "C{M}ostype.example", "C{E}define",
                     "O LogLevel=15"):
        assert expected in lines


def test_client_options_pin_the_ipv6_source(netns, mc):
    result = run_module(netns, "sendmail_client", path=str(mc), name="out6", family="inet6", addr=IPV6)
    assert result["changed"]
    assert f"O ClientPortOptions=Name=out6, Family=inet6, Addr={IPV6}" in build_cf(mc).read_text().splitlines()


def test_cf_is_edited_directly_and_checked(netns, mc):
    cf = build_cf(mc)
    result = run_module(netns, "sendmail_daemon", path=str(cf), name="MTA-v6", family="inet6", addr="::1")
    assert result["changed"] and not result["rebuild_needed"]
    assert "O DaemonPortOptions=Name=MTA-v6, Family=inet6, Addr=::1" in cf.read_text().splitlines()


# --- refusals ------------------------------------------------------------------------

@pytest.mark.parametrize("module, args, message", [
    ("sendmail_daemon", dict(name="MTA-v6", family="inet6", addr="::"), "cannot bind: Address already in use"),
    ("sendmail_daemon", dict(name="MTA-v6", family="inet6", addr="2001:db8::zz"), "neither an IPv4 address"),
    ("sendmail_daemon", dict(name="MTA-v6", family="inet6", addr=IPV4), "IPv4 address but the entry has Family=inet6"),
    ("sendmail_daemon", dict(name="MTA-v6", port="65536"), "out of range"),
    ("sendmail_daemon", dict(name="MTA-v6", options={"Bogus": "1"}), "unknown key"),
    ("sendmail_daemon", dict(name="MTA-v6", state="commented", addr="::1')dnl\nsyscmd(`touch /tmp/x')"),
     "would change the structure"),
    ("sendmail_mc", dict(define="SMART_HOST", value="esyscmd(id -un)"), "would change the structure"),
    ("sendmail_mc", dict(define="confLOG_LEVEL", value="15\nO QueueDirectory=/tmp"), "would change the structure"),
])
def test_refusals_leave_the_file_byte_identical(netns, mc, module, args, message):
    original = mc.read_bytes()
    result = run_module(netns, module, path=str(mc), **args)
    assert result.get("failed") and message in result["msg"], result
    assert mc.read_bytes() == original


def test_dual_stack_refusal_names_the_three_fixes(netns, mc):
    # Without the commented template the new entry goes after MTA-v4, so MTA-v6 is the one that fails.
    mc.write_text(mc.read_text().replace(COMMENTED_MTA_V6 + "\n", ""))
    msg = run_module(netns, "sendmail_daemon", path=str(mc), name="MTA-v6", family="inet6")["msg"]
    assert "opendaemonsocket: daemon MTA-v6: cannot bind: Address already in use" in msg
    assert "one inet6 daemon on ::" in msg and "specific address" in msg and "bindv6only=1" in msg


def test_failing_m4_check_leaves_the_file_and_reports_m4(netns, mc):
    broken = mc.read_text().replace("MAILER_DEFINITIONS", "FEATURE(`no_such_feature_here')dnl\nMAILER_DEFINITIONS")
    mc.write_text(broken)
    result = run_module(netns, "sendmail_mc", path=str(mc), feature="nocanonify")
    assert result.get("failed") and "m4 rejected the candidate" in result["msg"]
    assert "no_such_feature_here" in result["msg"]
    assert mc.read_text() == broken


def test_failing_sendmail_check_leaves_the_cf(netns, mc):
    cf = build_cf(mc)
    broken = cf.read_text() + "O Timeout.connect=5x\n"
    cf.write_text(broken)
    # A fault the file already has is reported, not blamed on the change; bad input is still refused.
    result = run_module(netns, "sendmail_daemon", path=str(cf), name="MTA-v6", family="inet6", addr="::1")
    assert not result.get("failed") and result["changed"], result.get("msg")
    assert any("already has a problem" in w and "Invalid time unit" in w for w in result["warnings"])
    assert "O Timeout.connect=5x" in cf.read_text()
    before = cf.read_text()
    result = run_module(netns, "sendmail_daemon", path=str(cf), name="MTA-v6", options={"DeliveryMode": "z"})
    assert result.get("failed") and "must be one of" in result["msg"], result
    assert cf.read_text() == before


# --- concurrency -----------------------------------------------------------------------

def test_concurrent_runs_lose_no_update(netns, mc):
    users = [f"user{number}" for number in range(8)]
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        results = list(pool.map(lambda user: run_module(netns, "sendmail_mc", path=str(mc), exposed_user=user), users))
    assert all(result["changed"] for result in results)
    text = mc.read_text()
    assert [user for user in users if f"EXPOSED_USER(``{user}'')dnl" not in text] == []
    assert not [name for name in os.listdir(mc.parent) if name.endswith(".tmp")]


# --- real sendmail in the namespace ------------------------------------------------------

def test_sendmail_listens_on_exactly_the_configured_sockets(netns, mc, start_sendmail):
    assert run_module(netns, "sendmail_daemon", path=str(mc), name="MTA-v6", family="inet6", addr=IPV6)["changed"]
    assert run_module(netns, "sendmail_daemon", path=str(mc), name="MTA-v4", addr=IPV4)["changed"]
    start_sendmail(build_cf(mc))
    expected = sorted([f"{IPV4}:25", f"[{IPV6}]:25", "127.0.0.1:587"])
    wait_for(lambda: listening(netns) == expected, 20, lambda: f"sockets {expected} (have {listening(netns)})")
    assert banner(netns, IPV6).startswith(f"220 {HOSTNAME}")
    assert banner(netns, IPV4).startswith(f"220 {HOSTNAME}")


def test_one_inet6_daemon_on_any_serves_both_families(netns, mc, start_sendmail):
    assert run_module(netns, "sendmail_daemon", path=str(mc), name="MTA-v4", state="absent")["changed"]
    result = run_module(netns, "sendmail_daemon", path=str(mc), name="MTA-v6", family="inet6", addr="::")
    assert result["changed"] and [entry["name"] for entry in result["entries"] if entry["state"] == "present"] == [
        "MTA-v6", "MSP-v4"]
    start_sendmail(build_cf(mc))
    # ss shows a dual-stack socket (IPV6_V6ONLY off) on :: as *:25
    expected = ["*:25", "127.0.0.1:587"]
    wait_for(lambda: listening(netns) == expected, 20, lambda: f"sockets {expected} (have {listening(netns)})")
    for host in ("127.0.0.1", "::1", IPV4, IPV6):
        assert banner(netns, host).startswith(f"220 {HOSTNAME}"), host


def test_the_refused_configuration_really_fails_to_bind(netns, mc, start_sendmail):
    # Forced past the module: the file is written directly.
    inet6_any = "DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::')dnl"
    mc.write_text(mc.read_text().replace(MTA_V4, MTA_V4 + "\n" + inet6_any))
    log = start_sendmail(build_cf(mc))[1]
    wait_for(lambda: "opendaemonsocket: daemon MTA-v6: cannot bind: Address already in use" in log.read_text(),
             30, lambda: f"the bind error in {log.read_text()!r}")
    sockets = listening(netns)
    assert "*:25" not in sockets and "[::]:25" not in sockets
    assert "127.0.0.1:25" in sockets
