# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.check import (
    HostName,
    Tools,
    _hosts_file_qualifies,
    check_candidate,
    check_change,
    includes_cf_m4,
)

TOOLS = Tools(m4="/usr/bin/m4", sendmail="/usr/sbin/sendmail", timeout="/usr/bin/timeout",
              unshare="/usr/bin/unshare", python="/usr/bin/python3", cf_dir="/usr/share/sendmail/cf")
MC_TEXT = "include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\nOSTYPE(`debian')dnl\n"
FQDN = HostName("mx.example.test", True)


class FakeRunner:
    """Answers m4 and sendmail with canned results and records the calls."""

    def __init__(self, m4=(0, "O DaemonPortOptions=Name=MTA\n", ""), sendmail=(0, "", "")):
        self.answers = {"m4": m4, "sendmail": sendmail, "unshare": None}
        self.calls = []

    def __call__(self, args, cwd):
        self.calls.append((args, cwd))
        tool = "m4" if args[0].endswith("m4") else "unshare" if args[0].endswith("unshare") else "sendmail"
        return self.answers[tool] or self.answers["sendmail"]


def check(tmp_path, runner, syntax="mc", expected=(), tools=TOOLS, text=MC_TEXT, host=FQDN):
    return check_candidate(text, syntax, "/etc/mail/sendmail.mc", str(tmp_path), runner, tools, expected, host)


def test_good_candidate_passes_and_commands_are_argument_lists(tmp_path):
    runner = FakeRunner()
    assert check(tmp_path, runner, expected=("O DaemonPortOptions=Name=MTA",)).ok
    (m4_args, m4_cwd), (sendmail_args, dummy) = runner.calls
    assert m4_args == ["/usr/bin/m4", str(tmp_path / "candidate.mc")] and m4_cwd == "/etc/mail"
    assert sendmail_args[:3] == ["/usr/bin/timeout", "--kill-after=5", "120"]
    assert sendmail_args[3:] == ["/usr/sbin/sendmail", "-C", str(tmp_path / "candidate.cf"), "-bC"]
    assert (tmp_path / "candidate.cf").read_text() == "O DaemonPortOptions=Name=MTA\n"


def test_m4_error_output_fails_even_with_exit_0(tmp_path):
    result = check(tmp_path, FakeRunner(m4=(0, "x", "*** ERROR: FEATURE() should be before MAILER()\n")))
    assert not result.ok
    assert "m4 rejected the candidate" in result.msg and "FEATURE() should be before MAILER()" in result.msg


def test_m4_exit_code_fails(tmp_path):
    assert "exit code 1" in check(tmp_path, FakeRunner(m4=(1, "", ""))).msg


def test_value_mangled_by_m4_fails(tmp_path):
    result = check(tmp_path, FakeRunner(m4=(0, "DSmx.\n", "")), expected=("DSmx.dnl.example.com",))
    assert not result.ok and "'DSmx.dnl.example.com'" in result.msg


def test_sendmail_read_errors_fail_although_it_exits_0(tmp_path):
    runner = FakeRunner(sendmail=(0, "", f"{tmp_path}/candidate.cf: line 292: Invalid time unit\n"))
    result = check(tmp_path, runner)
    assert not result.ok and "candidate.cf: line 292: Invalid time unit" in result.msg


def test_sendmail_warnings_are_passed_on(tmp_path):
    result = check(tmp_path, FakeRunner(sendmail=(0, "", "Warning: Cannot use HostStatusDirectory\n")))
    assert result.ok and result.warnings == ["Warning: Cannot use HostStatusDirectory"]


def test_timeout_names_the_likely_cause(tmp_path):
    result = check(tmp_path, FakeRunner(sendmail=(124, "", "")))
    assert not result.ok and "fully qualified" in result.msg


def test_cf_is_checked_directly(tmp_path):
    runner = FakeRunner()
    assert check(tmp_path, runner, syntax="cf").ok
    assert len(runner.calls) == 1 and (tmp_path / "candidate.cf").read_text() == MC_TEXT


@pytest.mark.parametrize("tools, ok, message", [
    (Tools(m4=None, sendmail=None, timeout=None), False, "m4 is not installed"),
    (Tools(m4="/usr/bin/m4", sendmail=None, timeout=None), True, ""),
])
def test_missing_tools(tmp_path, tools, ok, message):
    result = check(tmp_path, FakeRunner(), tools=tools)
    assert result.ok is ok and message in result.msg


# --- harmless warnings are warnings, everything else an error ---------------------------

@pytest.mark.parametrize("stderr", [
    "%(mc)s:96: Warning: end of file treated as newline\n",
    "/usr/bin/%(mc)s:96: Warning: end of file treated as newline\n",
    "WARNING: FEATURE(blacklist_recipients) is deprecated; use FEATURE(blocklist_recipients.m4).\n\n",
    "WARNING: confUNSAFE_GROUP_WRITES is deprecated; use confDONT_BLAME_SENDMAIL.\n",
    "NOTE: OSTYPE(bsdi2.0) is deprecated.  Use OSTYPE(bsdi) instead.\n",
])
def test_known_m4_warnings_are_returned_as_warnings(tmp_path, stderr):
    stderr = stderr % {"mc": "m4:%s" % (tmp_path / "candidate.mc")}
    result = check(tmp_path, FakeRunner(m4=(0, "O DaemonPortOptions=Name=MTA\n", stderr)))
    assert result.ok, result.msg
    assert result.warnings == ["m4: " + stderr.strip().replace(str(tmp_path / "candidate.mc"), "/etc/mail/sendmail.mc")]


@pytest.mark.parametrize("stderr", [
    # an error next to a warning still fails
    "WARNING: FEATURE(blacklist_recipients) is deprecated; use FEATURE(blocklist_recipients.m4).\n"
    "*** ERROR: FEATURE(blocklist_recipients) requires FEATURE(access_db)\n",
    # warnings that are not known harmless forms stay errors
    "*** WARNING: FEATURE(`promiscuous_relay') configures your system as open relay.  Do NOT use it on a server\n",
    "*** WARNING: MAILER() should be before LOCAL_SRV_FEATURES\n",
    "m4:/etc/mail/sendmail.mc:3: cannot open `site.m4': No such file or directory\n",
    "WARNING: FEATURE(x) is deprecated; use y\nand something else\n",
])
def test_other_m4_output_fails(tmp_path, stderr):
    result = check(tmp_path, FakeRunner(m4=(0, "O DaemonPortOptions=Name=MTA\n", stderr)))
    assert not result.ok and "m4 rejected the candidate /etc/mail/sendmail.mc" in result.msg


@pytest.mark.parametrize("line", [
    "WARNING: local host name (vm) is not qualified; see cf/README: WHO AM I?",
    "WARNING: unable to qualify my own domain name (vm) -- using short name",
    "WARNING: mailer=esmtp, flag=q deprecated",
    "Warning: .cf file is out of date: sendmail 8.17.1 supports version 10, .cf file is version 0",
])
def test_known_sendmail_warnings_are_returned_as_warnings(tmp_path, line):
    result = check(tmp_path, FakeRunner(sendmail=(0, "", line + "\n")))
    assert result.ok and result.warnings == [line]


@pytest.mark.parametrize("line", [
    "WARNING: something sendmail has never said before",
    'candidate.cf: line 12: unknown configuration line "Xbogus"',
    "readcf: option AuthMechanisms: ...",
])
def test_other_sendmail_output_fails(tmp_path, line):
    result = check(tmp_path, FakeRunner(sendmail=(0, "", line + "\n")))
    assert not result.ok and line in result.msg


# --- a .mc that leaves cf.m4 to its Makefile ------------------------------------------------

FREEBSD_MC = "divert(-1)\n# comment\ndivert(0)\nVERSIONID(`x')\nOSTYPE(freebsd6)\nDOMAIN(generic)\nMAILER(local)\n"


def test_mc_without_cf_m4_is_built_with_cf_m4_first(tmp_path):
    runner = FakeRunner()
    assert check(tmp_path, runner, text=FREEBSD_MC).ok
    assert runner.calls[0][0] == ["/usr/bin/m4", "-D_CF_DIR_=/usr/share/sendmail/cf/",
                                  "/usr/share/sendmail/cf/m4/cf.m4", str(tmp_path / "candidate.mc")]


def test_mc_without_cf_m4_and_no_macros_is_refused_plainly(tmp_path):
    runner = FakeRunner()
    result = check(tmp_path, runner, text=FREEBSD_MC, tools=Tools("/usr/bin/m4", None, None))
    assert not result.ok and "does not include cf.m4" in result.msg and "install them" in result.msg
    assert runner.calls == []


@pytest.mark.parametrize("text, includes", [
    ("include(`/usr/share/sendmail-cf/m4/cf.m4')dnl\n", True),
    ("  include(`../m4/cf.m4')\n", True),
    ("dnl include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n", False),
    ("include(`/etc/mail/site.m4')dnl\nOSTYPE(linux)\n", False),
])
def test_includes_cf_m4(text, includes):
    assert includes_cf_m4(text) is includes


# --- a host name without a domain -----------------------------------------------------------

def test_unqualified_host_checks_in_a_private_uts_namespace_and_warns(tmp_path):
    runner = FakeRunner()
    result = check(tmp_path, runner, host=HostName("vm", False))
    assert result.ok
    args = runner.calls[1][0]
    assert args[:4] == ["/usr/bin/unshare", "--uts", "--", "/usr/bin/python3"] and args[6] == "vm.invalid"
    assert args[7:] == ["/usr/bin/timeout", "--kill-after=5", "120", "/usr/sbin/sendmail", "-C",
                        str(tmp_path / "candidate.cf"), "-bC"]
    assert len(result.warnings) == 1 and "name 'vm' has no domain" in result.warnings[0]
    assert "127.0.1.1 vm.example.com vm" in result.warnings[0] and "stand-in name vm.invalid" in result.warnings[0]


def test_without_a_namespace_the_check_runs_plainly_and_says_it_waited(tmp_path):
    runner = FakeRunner()
    runner.answers["unshare"] = (1, "", "unshare: unshare failed: Operation not permitted\n")
    runner.answers["sendmail"] = (0, "", "WARNING: local host name (vm) is not qualified; see cf/README: WHO AM I?\n")
    result = check(tmp_path, runner, host=HostName("vm", False))
    assert result.ok and [call[0][0] for call in runner.calls] == ["/usr/bin/m4", "/usr/bin/unshare", "/usr/bin/timeout"]
    assert "ran under the short name" in result.warnings[0]
    assert result.warnings[1].startswith("WARNING: local host name (vm)")


def test_qualified_host_runs_sendmail_directly(tmp_path):
    runner = FakeRunner()
    assert check(tmp_path, runner).warnings == []
    assert runner.calls[1][0][0] == "/usr/bin/timeout"


@pytest.mark.parametrize("hosts, qualified", [
    ("127.0.0.1 localhost\n127.0.0.1 vm\n", False),
    ("127.0.1.1 vm.example.com vm\n", True),
    ("127.0.1.1 VM  # vm.example.com\n", False),
    ("10.0.0.1 other.example.com other\n127.0.0.1 vm\n", False),
])
def test_hosts_file_qualifies(hosts, qualified):
    assert _hosts_file_qualifies("vm", hosts) is qualified


# --- a change is judged by what it adds ----------------------------------------------------------

class ByTextRunner(FakeRunner):
    """sendmail -bC answers by which candidate it checks: the current file's or the new one's."""

    def __init__(self, current, candidate):
        super().__init__()
        self.by_dir = {"current": current, "new": candidate}

    def __call__(self, args, cwd):
        self.calls.append((args, cwd))
        if args[0].endswith("m4"):
            return 0, "O DaemonPortOptions=Name=MTA\n  \n", ""
        return self.by_dir["current" if cwd.endswith("current") else "new"]


OLD = (70, "", 'candidate.cf: line 2: unknown configuration line "\n"\n')
OLD_MOVED = (70, "", 'candidate.cf: line 58: unknown configuration line "\n"\n')
NEW = (70, "", 'candidate.cf: line 58: unknown configuration line "\n"\ncandidate.cf: line 201: Unknown delivery mode z\n')


def change(tmp_path, runner, current_text=MC_TEXT):
    return check_change(current_text, MC_TEXT + "dnl\n", "mc", "/etc/mail/sendmail.mc", str(tmp_path), runner,
                        TOOLS, (), FQDN)


def test_a_problem_the_file_already_has_is_a_warning(tmp_path):
    result = change(tmp_path, ByTextRunner(OLD, OLD_MOVED), "  dnl indented\n" + MC_TEXT)
    assert result.ok, result.msg
    assert any("already has a problem" in warning and "unknown configuration line" in warning
               and "line 1 of /etc/mail/sendmail.mc starts with blanks" in warning for warning in result.warnings)


def test_a_problem_the_change_adds_refuses_it(tmp_path):
    result = change(tmp_path, ByTextRunner(OLD, NEW))
    assert not result.ok
    assert result.errors == ["candidate.cf: line 201: Unknown delivery mode z"]
    assert "the current file already has" in result.msg


def test_the_current_file_is_checked_only_when_the_candidate_is_refused(tmp_path):
    runner = ByTextRunner(OLD, (0, "", ""))
    assert change(tmp_path, runner).ok
    assert not any(cwd.endswith("current") for _args, cwd in runner.calls)


def test_the_same_problem_twice_where_the_file_had_it_once_is_new(tmp_path):
    twice = (70, "", "candidate.cf: line 5: Unknown delivery mode z\ncandidate.cf: line 9: Unknown delivery mode z\n")
    once = (70, "", "candidate.cf: line 5: Unknown delivery mode z\n")
    assert not change(tmp_path, ByTextRunner(once, twice)).ok
