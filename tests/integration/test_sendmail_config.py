# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sendmail_config: the whole wanted state in one edit, against the real m4, cf macros and sendmail."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import COMMENTED_MTA_V6, IPV4, IPV6, MTA_V4, REQUIRES_SENDMAIL, banner, build_cf, listening, network_namespace, run_module, wait_for

pytestmark = REQUIRES_SENDMAIL

DUAL_STACK = dict(
    daemons=[
        # Listed before the removal on purpose: conflicts are judged on the result only.
        dict(name="MTA-v6", family="inet6", addr="::", port="smtp"),
        dict(name="MTA-v4", state="absent"),
    ],
    clients=[dict(name="OUT-v6", family="inet6", addr=IPV6)],
    settings=[
        dict(feature="nocanonify"),
        dict(define="confLOG_LEVEL", value="12"),
    ],
)


def without_stamp(cf_text):
    return [line for line in cf_text.splitlines() if not line.startswith("##### built by")]


def test_check_mode_shows_the_diff_a_real_run_makes_and_validates_once(netns, mc, tmp_path):
    cf = tmp_path / "sendmail.cf"
    cf.write_text("# the previous sendmail.cf\n")
    original = mc.read_bytes()
    args = dict(path=str(mc), cf_path=str(cf), backup=True, **DUAL_STACK)

    planned = run_module(netns, "sendmail_config", check=True, diff=True, **args)
    assert planned["changed"] and planned["validated"] and planned["cf_installed"]
    assert mc.read_bytes() == original and cf.read_text() == "# the previous sendmail.cf\n"

    applied = run_module(netns, "sendmail_config", diff=True, **args)
    assert applied["diff"] == planned["diff"]
    assert applied["changes"] == planned["changes"] == [
        {"kind": "daemon", "name": "MTA-v4", "state": "absent"},
        {"kind": "daemon", "name": "MTA-v6", "state": "present"},
        {"kind": "client", "name": "OUT-v6", "state": "present"},
        {"kind": "setting", "name": "feature nocanonify", "state": "present"},
        {"kind": "setting", "name": "define confLOG_LEVEL=12", "state": "present"},
    ]
    assert applied["validated"] and not applied["rebuild_needed"]
    assert Path(applied["backup_file"]).read_bytes() == original
    assert Path(applied["cf_backup_file"]).read_text() == "# the previous sendmail.cf\n"

    # The installed .cf is the one m4 builds from the new .mc (but for the build stamp), newer than the .mc.
    assert without_stamp(cf.read_text()) == without_stamp(build_cf(mc).read_text())
    assert cf.stat().st_mtime_ns >= mc.stat().st_mtime_ns
    lines = cf.read_text().splitlines()
    for expected in ("O DaemonPortOptions=Family=inet6, Name=MTA-v6, Port=smtp, Addr=::",
                     f"O ClientPortOptions=Name=OUT-v6, Family=inet6, Addr={IPV6}", "O LogLevel=12"):
        assert expected in lines

    for check in (True, False):
        again = run_module(netns, "sendmail_config", check=check, **args)
        assert not again["changed"] and not again["validated"] and again["changes"] == []


def test_the_installed_cf_serves_both_families(netns, mc, tmp_path, start_sendmail):
    cf = tmp_path / "sendmail.cf"
    cf.write_text("")
    assert run_module(netns, "sendmail_config", path=str(mc), cf_path=str(cf), **DUAL_STACK)["changed"]
    start_sendmail(cf)
    wait_for(lambda: "*:25" in listening(netns), 30, lambda: str(listening(netns)))
    for address in (IPV4, IPV6, "127.0.0.1", "::1"):
        assert banner(netns, address).startswith("220 "), address


def test_a_conflict_in_the_result_is_refused_and_nothing_changes(netns, mc):
    original = mc.read_bytes()
    result = run_module(netns, "sendmail_config", path=str(mc), bindv6only=False,
                        daemons=[dict(name="MTA-v6", family="inet6", addr="::")])
    assert result.get("failed") and "cannot bind: Address already in use" in result["msg"], result
    assert mc.read_bytes() == original


def test_an_entry_listed_twice_is_refused(netns, mc):
    original = mc.read_bytes()
    result = run_module(netns, "sendmail_config", path=str(mc), daemons=[
        dict(name="MTA-v6", family="inet6", addr="::1"), dict(name="MTA-v6", state="absent")])
    assert result.get("failed") and "daemon MTA-v6 is listed twice" in result["msg"], result
    assert mc.read_bytes() == original


def test_one_bad_value_refuses_the_whole_edit(netns, mc):
    original = mc.read_bytes()
    result = run_module(netns, "sendmail_config", path=str(mc),
                        daemons=[dict(name="MTA-v6", family="inet6", addr="::1")],
                        settings=[dict(define="SMART_HOST", value="esyscmd(id -un)")])
    assert result.get("failed") and "would change the structure" in result["msg"], result
    assert mc.read_bytes() == original


def test_exclusive_removes_the_entries_not_listed(netns, mc):
    result = run_module(netns, "sendmail_config", path=str(mc), exclusive=True,
                        daemons=[dict(name="MTA", family="inet", addr=IPV4)])
    assert result["changed"], result
    assert [(entry["name"], entry["state"]) for entry in result["daemons"]] == [("MTA", "present")]
    assert f"O DaemonPortOptions=Name=MTA, Family=inet, Port=smtp, Addr={IPV4}" in build_cf(mc).read_text().splitlines()


def test_cf_path_needs_a_validated_mc(netns, mc, tmp_path):
    result = run_module(netns, "sendmail_config", path=str(mc), cf_path=str(tmp_path / "x.cf"), validate=False,
                        settings=[dict(feature="nocanonify")])
    assert result.get("failed") and "cf_path needs a .mc" in result["msg"], result


REDHAT_MC = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "module_utils" / "sendmail" / "fixtures" / "layouts" / "redhat.mc"


def test_listen_all_on_a_red_hat_style_file_plans_one_daemon_for_both_families(netns, mc, tmp_path, start_sendmail):
    # The macros live in Debian's place on this machine.
    mc.write_text(REDHAT_MC.read_text().replace("/usr/share/sendmail-cf/", "/usr/share/sendmail/cf/"))
    cf = tmp_path / "sendmail.cf"
    cf.write_text("")
    planned = run_module(netns, "sendmail_config", check=True, diff=True, path=str(mc), listen="all", bindv6only=False)
    assert planned["changed"] and planned["listen_reasons"], planned.get("msg")
    assert planned["diff"][0]["prepared"].startswith("Listening plan:")
    applied = run_module(netns, "sendmail_config", path=str(mc), cf_path=str(cf), listen="all", bindv6only=False)
    assert applied["changes"] == planned["changes"], applied
    start_sendmail(cf)
    wait_for(lambda: "*:25" in listening(netns), 30, lambda: str(listening(netns)))
    for address in (IPV4, IPV6, "127.0.0.1", "::1"):
        assert banner(netns, address).startswith("220 "), address
    assert not run_module(netns, "sendmail_config", path=str(mc), listen="all", bindv6only=False)["changed"]


def test_listen_on_an_address_the_host_does_not_have_is_refused(netns, mc):
    original = mc.read_bytes()
    result = run_module(netns, "sendmail_config", path=str(mc), listen=["203.0.113.77"])
    assert result.get("failed") and "203.0.113.77" in result["msg"] and IPV4 in result["msg"], result
    assert mc.read_bytes() == original


def test_an_entry_listed_as_it_already_is_does_not_block_the_others(netns, mc):
    # Debian's MTA-v4 line has two blanks after a comma; restating it must not be checked as rendered.
    result = run_module(netns, "sendmail_config", path=str(mc), daemons=[
        dict(name="MTA-v4", family="inet", addr="127.0.0.1", port="smtp"),
        dict(name="MTA-v6-loopback", family="inet6", addr="::1", port="smtp")])
    assert result["changed"] and result["changes"] == [
        {"kind": "daemon", "name": "MTA-v6-loopback", "state": "present"}], result


def test_a_setting_listed_twice_is_refused_even_with_other_values(netns, mc):
    original = mc.read_bytes()
    result = run_module(netns, "sendmail_config", path=str(mc), settings=[
        dict(define="confLOG_LEVEL", value="9"), dict(define="confLOG_LEVEL", value="12")])
    assert result.get("failed") and "setting define confLOG_LEVEL is listed twice" in result["msg"], result
    assert mc.read_bytes() == original


@pytest.fixture
def netns_without_ipv6():
    """A namespace whose kernel has IPv6 (net.ipv6.bindv6only exists) but no interface an IPv6
    address, not even ::1: net.ipv6.conf.all.disable_ipv6=1, as on hosts that turn IPv6 off."""
    disabled = [f"net.ipv6.conf.{key}.disable_ipv6=1" for key in ("all", "default", "lo")]
    with network_namespace(f"dsmta-v4-{os.getpid()}", sysctls=disabled, ipv6=False) as name:
        subprocess.run(["ip", "netns", "exec", name, "test", "-e", "/proc/sys/net/ipv6/bindv6only"], check=True, timeout=10)
        yield name


def test_listen_all_without_any_ipv6_address_plans_ipv4_only_and_warns(netns_without_ipv6, mc):
    before = mc.read_bytes()
    result = run_module(netns_without_ipv6, "sendmail_config", check=True, path=str(mc), listen="all")
    assert not result.get("failed"), result
    assert result["ipv6_available"] is False
    assert any("IPv4 only" in warning for warning in result.get("warnings", [])), result
    families = {daemon.get("family", "inet") for daemon in result["daemons"] if daemon.get("state", "present") == "present"}
    assert families == {"inet"}, result["daemons"]
    assert mc.read_bytes() == before


MTA_V4_LINE = MTA_V4
MSP_V4_LINE = "DAEMON_OPTIONS(`Family=inet,  Name=MSP-v4, Port=submission, M=Ea, Addr=127.0.0.1')dnl"
SAME_NAME_DAEMONS = ("DAEMON_OPTIONS(`Port=587,Addr=0.0.0.0, Name=MTA')dnl\n"
                     "DAEMON_OPTIONS(`Port=25,Addr=0.0.0.0, Name=MTA')dnl\n")


def test_listen_all_plans_a_file_whose_daemons_share_a_name(netns, mc, tmp_path, start_sendmail):
    # sendmail takes Name only as a label; the planner matches entries by the socket they bind.
    text = mc.read_text().replace(MTA_V4_LINE, SAME_NAME_DAEMONS.rstrip("\n"))
    text = text.replace(MSP_V4_LINE + "\n", "").replace(COMMENTED_MTA_V6 + "\n", "")
    mc.write_text(text)
    # The single-entry module addresses entries by name, so it refuses the ambiguous name.
    refused = run_module(netns, "sendmail_daemon", path=str(mc), name="MTA", modifiers="E")
    assert refused.get("failed") and "2 active DAEMON_OPTIONS entries are named MTA" in refused["msg"], refused
    assert mc.read_text() == text
    cf = tmp_path / "sendmail.cf"
    cf.write_text("")
    applied = run_module(netns, "sendmail_config", path=str(mc), cf_path=str(cf), listen="all", bindv6only=False)
    assert applied["changed"], applied.get("msg")
    after = mc.read_text()
    assert "DAEMON_OPTIONS(`Port=587,Addr=0.0.0.0, Name=MTA')dnl" in after  # port 587 is left alone
    assert "dnl DAEMON_OPTIONS(``Port=25, Addr=0.0.0.0, Name=MTA'')dnl" in after, after
    start_sendmail(cf)
    wait_for(lambda: "*:25" in listening(netns), 30, lambda: str(listening(netns)))
    for address in ("127.0.0.1", "::1", IPV4, IPV6):
        assert banner(netns, address).startswith("220 "), address
    assert banner(netns, "127.0.0.1", 587).startswith("220 ")
    assert not run_module(netns, "sendmail_config", path=str(mc), listen="all", bindv6only=False)["changed"]


RED_HAT_MTA = "DAEMON_OPTIONS(`Port=smtp,Addr=127.0.0.1, Name=MTA')dnl"


@pytest.mark.parametrize("module, args", [
    ("sendmail_daemon", dict(name="MTA", family="inet")),
    ("sendmail_daemon", dict(name="MTA", family="inet", port="25", addr="127.0.0.1", options={"Listen": "10"})),
    ("sendmail_config", dict(daemons=[dict(name="MTA", family="inet", port="smtp")])),
])
def test_restating_red_hat_stock_daemon_with_defaults_changes_nothing(netns, mc, module, args):
    text = mc.read_text().replace(MTA_V4_LINE, RED_HAT_MTA)
    mc.write_text(text)
    original = mc.read_bytes()
    result = run_module(netns, module, path=str(mc), **args)
    assert not result.get("failed") and not result["changed"], result
    assert mc.read_bytes() == original


DEBIAN_ACCESS = Path("/etc/mail/access")


@pytest.mark.skipif(not DEBIAN_ACCESS.exists(), reason="needs Debian's stock /etc/mail/access (sendmail-base)")
def test_listening_on_ipv6_warns_about_access_keys_sendmail_never_looks_up(netns, mc):
    # Debian's own access file beside the .mc, as in /etc/mail: its ::1 exemptions say IPv6:::1.
    access = mc.with_name("access")
    access.write_bytes(DEBIAN_ACCESS.read_bytes())
    result = run_module(netns, "sendmail_config", check=True, path=str(mc), listen="all", bindv6only=False)
    warnings = [w for w in result.get("warnings", []) if "never looks up" in w]
    assert any("ClientRate:IPv6:::1" in w and "ClientRate:IPv6:0:0:0:0:0:0:0:1" in w for w in warnings), result
    assert access.read_bytes() == DEBIAN_ACCESS.read_bytes()
    # IPv4 only: no IPv6 client to exempt, so no warning.
    ipv4_only = run_module(netns, "sendmail_config", check=True, path=str(mc), listen=["127.0.0.1"], bindv6only=False)
    assert not [w for w in ipv4_only.get("warnings", []) if "never looks up" in w], ipv4_only
