# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.check import Tools, check_candidate

TOOLS = Tools(m4='/usr/bin/m4', sendmail='/usr/sbin/sendmail', timeout='/usr/bin/timeout')


class FakeRunner:
    """Answers m4 and sendmail with canned results and records the calls."""

    def __init__(self, m4=(0, 'O DaemonPortOptions=Name=MTA\n', ''), sendmail=(0, '', '')):
        self.answers = {'m4': m4, 'sendmail': sendmail}
        self.calls = []

    def __call__(self, args, cwd):
        self.calls.append((args, cwd))
        tool = 'm4' if args[0].endswith('m4') else 'sendmail'
        return self.answers[tool]


def check(tmp_path, runner, syntax='mc', expected=(), tools=TOOLS):
    return check_candidate('text', syntax, '/etc/mail/sendmail.mc', str(tmp_path), runner, tools, expected)


def test_good_candidate_passes_and_commands_are_argument_lists(tmp_path):
    runner = FakeRunner()
    assert check(tmp_path, runner, expected=('O DaemonPortOptions=Name=MTA',)).ok
    (m4_args, m4_cwd), (sendmail_args, dummy) = runner.calls
    assert m4_args == ['/usr/bin/m4', str(tmp_path / 'candidate.mc')] and m4_cwd == '/etc/mail'
    assert sendmail_args[:3] == ['/usr/bin/timeout', '--kill-after=5', '120']
    assert sendmail_args[3:] == ['/usr/sbin/sendmail', '-C', str(tmp_path / 'candidate.cf'), '-bC']
    assert (tmp_path / 'candidate.cf').read_text() == 'O DaemonPortOptions=Name=MTA\n'


def test_m4_error_output_fails_even_with_exit_0(tmp_path):
    result = check(tmp_path, FakeRunner(m4=(0, 'x', '*** ERROR: FEATURE() should be before MAILER()\n')))
    assert not result.ok
    assert 'm4 rejected the candidate' in result.msg and 'FEATURE() should be before MAILER()' in result.msg


def test_m4_exit_code_fails(tmp_path):
    assert 'exit code 1' in check(tmp_path, FakeRunner(m4=(1, '', ''))).msg


def test_value_mangled_by_m4_fails(tmp_path):
    result = check(tmp_path, FakeRunner(m4=(0, 'DSmx.\n', '')), expected=('DSmx.dnl.example.com',))
    assert not result.ok and "'DSmx.dnl.example.com'" in result.msg


def test_sendmail_read_errors_fail_although_it_exits_0(tmp_path):
    runner = FakeRunner(sendmail=(0, '', '%s/candidate.cf: line 292: Invalid time unit\n' % tmp_path))
    result = check(tmp_path, runner)
    assert not result.ok and 'candidate.cf: line 292: Invalid time unit' in result.msg


def test_sendmail_warnings_are_passed_on(tmp_path):
    result = check(tmp_path, FakeRunner(sendmail=(0, '', 'Warning: Cannot use HostStatusDirectory\n')))
    assert result.ok and result.warnings == ['Warning: Cannot use HostStatusDirectory']


def test_timeout_names_the_likely_cause(tmp_path):
    result = check(tmp_path, FakeRunner(sendmail=(124, '', '')))
    assert not result.ok and 'fully qualified' in result.msg


def test_cf_is_checked_directly(tmp_path):
    runner = FakeRunner()
    assert check(tmp_path, runner, syntax='cf').ok
    assert len(runner.calls) == 1 and (tmp_path / 'candidate.cf').read_text() == 'text'


@pytest.mark.parametrize('tools, ok, message', [
    (Tools(m4=None, sendmail=None, timeout=None), False, 'm4 is not installed'),
    (Tools(m4='/usr/bin/m4', sendmail=None, timeout=None), True, ''),
])
def test_missing_tools(tmp_path, tools, ok, message):
    result = check(tmp_path, FakeRunner(), tools=tools)
    assert result.ok is ok and message in result.msg
