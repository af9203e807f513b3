# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check a candidate sendmail.mc / sendmail.cf before it replaces the real one.

A .mc is built with m4 (which must exit 0 *and* print nothing on stderr:
cf.m4 reports many mistakes with errprint and still exits 0), the built .cf
must contain the lines the change was meant to produce, and where sendmail
is installed the .cf must pass ``sendmail -C candidate.cf -bC`` under a
timeout.  ``sendmail -bC`` exits 0 even on read errors, so any output line
that is not a plain "Warning:" counts as a failure.

Commands run through a ``run(args, cwd) -> (rc, stdout, stderr)`` callable
so the logic can be tested without the tools.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional

CF_CHECK_TIMEOUT = 120  # sendmail stalls ~60 s when the host name is not an FQDN

Runner = Callable[[list, Optional[str]], tuple]


@dataclass
class CheckResult:
    ok: bool
    msg: str = ''
    rc: Optional[int] = None
    stdout: str = ''
    stderr: str = ''
    warnings: list = field(default_factory=list)
    cf_text: str = ''  # the .cf that was checked


@dataclass(frozen=True)
class Tools:
    m4: Optional[str]
    sendmail: Optional[str]
    timeout: Optional[str]


def check_candidate(text: str, syntax: str, source_path: str, workdir: str, run: Runner, tools: Tools,
                    expected_cf_lines: tuple = ()) -> CheckResult:
    """Build (for a .mc) and check the candidate ``text`` in ``workdir``."""
    source_dir = os.path.dirname(os.path.abspath(source_path))
    if syntax == 'mc':
        if tools.m4 is None:
            return CheckResult(False, 'm4 is not installed; install m4 and the sendmail-cf macros, '
                                      'or set validate=false')
        candidate_mc = os.path.join(workdir, 'candidate.mc')
        with open(candidate_mc, 'w', encoding='utf-8', errors='surrogateescape') as handle:
            handle.write(text)
        # Relative include()s in the .mc resolve against its own directory, as under make.
        rc, cf_text, err = run([tools.m4, candidate_mc], source_dir)
        if rc != 0 or err.strip():
            return CheckResult(False, 'm4 rejected the candidate %s (nothing was changed): %s'
                               % (source_path, err.strip() or 'exit code %d' % rc), rc, '', err)
        missing = [line for line in expected_cf_lines if line not in cf_text.splitlines()]
        if missing:
            return CheckResult(False, 'the sendmail.cf built from the candidate does not contain %r; '
                                      'm4 changed the value on the way (nothing was changed)' % missing[0])
        candidate_cf = os.path.join(workdir, 'candidate.cf')
        with open(candidate_cf, 'w', encoding='utf-8', errors='surrogateescape') as handle:
            handle.write(cf_text)
    else:
        cf_text = text
        candidate_cf = os.path.join(workdir, 'candidate.cf')
        with open(candidate_cf, 'w', encoding='utf-8', errors='surrogateescape') as handle:
            handle.write(text)

    if tools.sendmail is None:
        return CheckResult(True, warnings=[] if syntax == 'mc' else
                           ['sendmail is not installed: the edited .cf was not checked'], cf_text=cf_text)
    args = [tools.sendmail, '-C', candidate_cf, '-bC']
    if tools.timeout is not None:
        args = [tools.timeout, '--kill-after=5', str(CF_CHECK_TIMEOUT)] + args
    rc, out, err = run(args, workdir)
    lines = [line for line in (out + '\n' + err).splitlines() if line.strip()]
    if rc in (124, 137) and tools.timeout is not None:
        return CheckResult(False, 'sendmail -bC did not finish within %d s; is the host name a fully '
                                  'qualified domain name? (nothing was changed)' % CF_CHECK_TIMEOUT, rc, out, err)
    errors = [line for line in lines if not line.startswith('Warning:')]
    if rc != 0 or errors:
        detail = '; '.join(errors) or 'exit code %d' % rc
        return CheckResult(False, 'sendmail -bC rejected the candidate configuration (nothing was changed): %s'
                           % detail.replace(candidate_cf, 'candidate.cf'), rc, out, err)
    return CheckResult(True, warnings=[line for line in lines if line.startswith('Warning:')], cf_text=cf_text)
