# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Whole-module runs through a seam: module args set, exit/fail captured, no m4 or sendmail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.dualstack.mta.plugins.modules import sendmail_client, sendmail_daemon, sendmail_mc

SAMPLE = (Path(__file__).parents[1] / "module_utils" / "sendmail" / "fixtures" / "debian-like.mc").read_text()


class Exit(Exception):
    def __init__(self, result, failed):
        super().__init__(result)
        self.result = result
        self.failed = failed


@pytest.fixture
def run(monkeypatch, tmp_path):
    """Run a module's main() and return (result, failed)."""
    def exit_json(self, **result):
        raise Exit(result, False)

    def fail_json(self, msg, **result):
        raise Exit(dict(result, msg=msg), True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    # The conflict rules depend on the host; these tests assume the Linux default.
    monkeypatch.setattr(sendmail_daemon, "read_bindv6only", lambda: False)

    def runner(module, **args):
        args.setdefault("validate", False)
        with patch_module_args(args):
            with pytest.raises(Exit) as outcome:
                module.main()
        return outcome.value.result, outcome.value.failed
    return runner


@pytest.fixture
def mc(tmp_path):
    path = tmp_path / "sendmail.mc"
    path.write_text(SAMPLE)
    path.chmod(0o640)
    return path


def test_check_mode_predicts_without_writing(run, mc):
    result, failed = run(sendmail_daemon, path=str(mc), name="MTA-v6", family="inet6", addr="::1",
                         _ansible_check_mode=True, _ansible_diff=True)
    assert not failed and result["changed"] and result["rebuild_needed"]
    assert mc.read_text() == SAMPLE
    assert result["diff"]["before"] == SAMPLE
    assert "DAEMON_OPTIONS(``Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1'')dnl" in result["diff"]["after"]


def test_apply_then_nothing_to_do_keeps_mode(run, mc):
    result = run(sendmail_daemon, path=str(mc), name="MTA-v6", family="inet6", addr="::1", backup=True)[0]
    assert result["changed"] and result["entry"]["addr"] == "::1"
    assert Path(result["backup_file"]).read_text() == SAMPLE
    assert mc.stat().st_mode & 0o777 == 0o640
    result = run(sendmail_daemon, path=str(mc), name="MTA-v6", family="inet6", addr="0:0::1")[0]
    assert not result["changed"] and not result["rebuild_needed"] and "backup_file" not in result
    json.dumps(result)  # everything returned is plain data


@pytest.mark.parametrize("module, args, message", [
    (sendmail_daemon, dict(name="MTA-v6", family="inet6", addr="::"), "bindv6only=1"),
    (sendmail_daemon, dict(name="MTA-v6", family="inet6", addr="1.2.3.4"), "IPv4 address"),
    (sendmail_daemon, dict(name="MTA-v6", port="70000"), "out of range"),
    (sendmail_daemon, dict(name="MTA-v6", options={"Lisen": 5}), "unknown key"),
    (sendmail_daemon, dict(name="MTA-v6", options={"Addr": "::1"}), "with the addr option"),
    (sendmail_daemon, dict(name="MTA-v6", state="commented", addr="::1')dnl"), "structure"),
    (sendmail_client, dict(name="out6", family="inet6", addr="2001:db8::1\nO X=y"), "structure"),
    (sendmail_mc, dict(define="SMART_HOST", value="x')syscmd(`id')"), "structure"),
    (sendmail_mc, dict(feature="nocanonify", path="/nonexistent/sendmail.mc"), "does not exist"),
])
def test_refusals_leave_the_file_byte_identical(run, mc, module, args, message):
    args.setdefault("path", str(mc))
    result, failed = run(module, **args)
    assert failed and message in result["msg"]
    assert mc.read_text() == SAMPLE


def test_mc_settings_are_mutually_exclusive(run, mc):
    result, failed = run(sendmail_mc, path=str(mc), feature="nocanonify", define="confLOG_LEVEL", value="15")
    assert failed and "mutually exclusive" in result["msg"]


def test_mc_setting_returns_entry_and_entries(run, mc):
    result, failed = run(sendmail_mc, path=str(mc), feature="nocanonify")
    assert not failed and result["entry"]["args"] == ["nocanonify"]
    assert [entry["args"][0] for entry in result["entries"]] == [
        "no_default_msa", "use_cw_file", "access_db", "greet_pause", "nocanonify"]


def test_port_given_as_number_is_accepted(run, mc):
    result, failed = run(sendmail_client, path=str(mc), name="out4", family="inet", addr="198.51.100.10", port=2525)
    assert not failed and result["entry"]["port"] == "2525"


def test_cf_edit_needs_no_rebuild(run, tmp_path):
    cf = tmp_path / "sendmail.cf"
    cf.write_text("O DaemonPortOptions=Name=MTA-v4, Family=inet, Addr=127.0.0.1\n")
    result, failed = run(sendmail_daemon, path=str(cf), name="MTA-v6", family="inet6", addr="::1")
    assert not failed and result["changed"] and not result["rebuild_needed"]
    assert cf.read_text().splitlines()[1] == "O DaemonPortOptions=Name=MTA-v6, Family=inet6, Addr=::1"
