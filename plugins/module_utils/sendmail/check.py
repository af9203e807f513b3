# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check a candidate sendmail.mc / sendmail.cf before it replaces the real one.

A .mc is built with m4 the way its system builds it: as it is when it
includes cf.m4 itself (Debian, Red Hat, Slackware), with cf.m4 put in front
when it does not (FreeBSD's Makefile does that).  m4 must exit 0, and
everything it prints on stderr must be one of the known harmless forms
(cf.m4 reports most mistakes with errprint and still exits 0).  The built .cf
must contain the lines the change was meant to produce, and where sendmail is
installed the .cf must pass ``sendmail -C candidate.cf -bC`` under a timeout.
``sendmail -bC`` exits 0 even on read errors, so every output line that is not
a known warning counts as a failure.

On a host whose name has no domain and none can be found for it, sendmail
prints "WARNING: local host name (...) is not qualified", and when the short
name resolves (as from a "127.0.1.1 vm" line in /etc/hosts) it first sleeps
60 s looking for a qualified one: every invocation, -bC included.  The check
then runs in a private UTS namespace under a qualified stand-in name, and the
host's name is reported as one warning: the name only feeds $w/$j, not the
syntax being checked.

Commands run through a ``run(args, cwd) -> (rc, stdout, stderr)`` callable
so the logic can be tested without the tools.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from typing import Callable, Optional

CF_CHECK_TIMEOUT = 120  # sendmail stalls ~60 s when the host name is not an FQDN

# Where the sendmail cf macros live: Debian, Slackware, FreeBSD / Red Hat / openSUSE.
CF_DIRS = ('/usr/share/sendmail/cf', '/usr/share/sendmail-cf', '/usr/share/sendmail')

Runner = Callable[[list, Optional[str]], tuple]

# What m4 (and the cf macros through errprint) prints that leaves a complete, working .cf.
_M4_WARNINGS = (
    # GNU m4 (which names itself as it was called, /usr/bin/m4 too), for a file without a final newline.
    re.compile(r'(?:\S*/)?m4:[^\n]*: [Ww]arning: end of file treated as newline'),
    # cf macros: a deprecated FEATURE, define or OSTYPE that still works (under its new name).
    re.compile(r'WARNING: FEATURE\(`?[A-Za-z0-9_.]+\'?\) is deprecated[;.][^\n]*'),
    re.compile(r'WARNING: `?conf[A-Z0-9_]+\'? is deprecated[;.][^\n]*'),
    re.compile(r'NOTE: OSTYPE\(`?[A-Za-z0-9_.-]+\'?\) is deprecated\.[^\n]*'),
)

# What sendmail -bC prints about a configuration it accepts.  Lines in sendmail's own warning
# spelling ("Warning: ...") are warnings; upper-case "WARNING:" lines only in these forms.
_SENDMAIL_WARNINGS = (
    re.compile(r'Warning: [^\n]*'),
    re.compile(r'WARNING: local host name \([^)\n]*\) is not qualified; see cf/README: WHO AM I\?'),
    re.compile(r'WARNING: unable to qualify my own domain name \([^)\n]*\) -- using short name'),
    re.compile(r'WARNING: mailer=[^,\n]*, flag=. deprecated'),
    re.compile(r'WARNING: Ruleset [^\n]* has multiple definitions'),
    re.compile(r'[^\n]*: WARNING: dangerous write permissions'),
)

_CANDIDATE_PATH = re.compile(r'[^\s:]*candidate\.cf')
_INCLUDES_CF_M4 = re.compile(r'^[ \t]*s?include\([^)\n]*\bcf\.m4\b', re.MULTILINE)


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
    unshare: Optional[str] = None
    python: Optional[str] = None
    cf_dir: Optional[str] = None  # the cf macro tree, for a .mc that does not include cf.m4


@dataclass(frozen=True)
class HostName:
    """This host's name as sendmail sees it.

    ``qualified``: it has a domain, or the hosts file or DNS gives one.  ``resolves``: the short name
    has an address; sendmail then sleeps 60 s looking for a qualified name before it goes on
    (a name that does not resolve at all only draws the warning).
    """

    name: str
    qualified: bool
    resolves: bool = True


def find_cf_dir(candidates: tuple = CF_DIRS) -> Optional[str]:
    for directory in candidates:
        if os.path.isfile(os.path.join(directory, 'm4', 'cf.m4')):
            return directory
    return None


def _hosts_file_qualifies(name: str, hosts_text: str) -> bool:
    """True when a line of /etc/hosts that names ``name`` also has a name with a domain."""
    for line in hosts_text.splitlines():
        names = [word.lower() for word in line.split('#', 1)[0].split()[1:]]
        if name.lower() in names and any('.' in other for other in names):
            return True
    return False


def local_host_name(hosts_file: str = '/etc/hosts') -> HostName:
    """What sendmail will make of this host's name; the same lookups it makes (hosts file, DNS)."""
    name = socket.gethostname()
    if '.' in name:
        return HostName(name, True)
    try:
        with open(hosts_file, encoding='utf-8', errors='replace') as handle:
            if _hosts_file_qualifies(name, handle.read()):
                return HostName(name, True)
    except OSError:
        pass
    try:
        found = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
    except (OSError, UnicodeError):
        return HostName(name, False, resolves=False)
    qualified = any('.' in (info[3] or '').rstrip('.') for info in found)
    return HostName(name, qualified, resolves=bool(found))


def unqualified_host_warning(host: HostName, stand_in: bool) -> str:
    if host.resolves:
        effect = ('sendmail waits 60 s every time it starts (daemon, newaliases, mailq) looking for one, '
                  'then uses the short name')
    else:
        effect = 'sendmail uses the short name (in HELO and its own addresses)'
    how = ('the candidate was checked under the stand-in name %s' % _stand_in(host) if stand_in else
           'no private UTS namespace could be made for the check, so it ran under the short name')
    return ('this host\'s name %r has no domain and none is found for it in /etc/hosts or DNS: %s. '
            'Add the fully qualified name to /etc/hosts (for example "127.0.1.1 %s.example.com %s") or make '
            'it the host name; confDOMAIN_NAME sets the name sendmail announces but does not end a wait '
            '(%s).' % (host.name, effect, host.name, host.name, how))


def _stand_in(host: HostName) -> str:
    return '%s.invalid' % (host.name or 'localhost')


# Sets the stand-in host name inside the private UTS namespace, then runs the check.
_SET_HOST_NAME = ('import os, socket, sys\n'
                  'socket.sethostname(sys.argv[1])\n'
                  'os.execv(sys.argv[2], sys.argv[2:])\n')


def classify(lines: list, known: tuple) -> tuple:
    """(warnings, errors): lines matching a known warning form entirely, and all others."""
    warnings, errors = [], []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        (warnings if any(form.fullmatch(stripped) for form in known) else errors).append(stripped)
    return warnings, errors


def includes_cf_m4(text: str) -> bool:
    return bool(_INCLUDES_CF_M4.search(text))


def _m4_command(text: str, candidate_mc: str, source_path: str, tools: Tools):
    """The m4 argument list, or a CheckResult that refuses."""
    if includes_cf_m4(text):
        return [tools.m4, candidate_mc]
    if tools.cf_dir is None:
        return CheckResult(False, '%s does not include cf.m4 (a Makefile that puts cf.m4 in front builds it, as on '
                                  'FreeBSD) and no sendmail cf macros were found in %s; install them or set '
                                  'validate=false (nothing was changed)' % (source_path, ', '.join(CF_DIRS)))
    cf_dir = tools.cf_dir.rstrip('/') + '/'
    return [tools.m4, '-D_CF_DIR_=' + cf_dir, cf_dir + 'm4/cf.m4', candidate_mc]


def _write(path: str, text: str) -> None:
    with open(path, 'w', encoding='utf-8', errors='surrogateescape') as handle:
        handle.write(text)


def check_candidate(text: str, syntax: str, source_path: str, workdir: str, run: Runner, tools: Tools,
                    expected_cf_lines: tuple = (), host: Optional[HostName] = None) -> CheckResult:
    """Build (for a .mc) and check the candidate ``text`` in ``workdir``.

    ``host`` is this host's name; it is looked up (only when sendmail is to run) when not given.
    """
    source_dir = os.path.dirname(os.path.abspath(source_path))
    candidate_cf = os.path.join(workdir, 'candidate.cf')
    warnings = []
    if syntax == 'mc':
        if tools.m4 is None:
            return CheckResult(False, 'm4 is not installed; install m4 and the sendmail-cf macros, '
                                      'or set validate=false')
        candidate_mc = os.path.join(workdir, 'candidate.mc')
        _write(candidate_mc, text)
        command = _m4_command(text, candidate_mc, source_path, tools)
        if isinstance(command, CheckResult):
            return command
        # Relative include()s in the .mc resolve against its own directory, as under make.
        rc, cf_text, err = run(command, source_dir)
        m4_warnings, m4_errors = classify(err.replace(candidate_mc, source_path).splitlines(), _M4_WARNINGS)
        if rc != 0 or m4_errors:
            return CheckResult(False, 'm4 rejected the candidate %s (nothing was changed): %s'
                               % (source_path, '; '.join(m4_errors) or 'exit code %d' % rc), rc, '', err)
        warnings.extend('m4: %s' % line for line in m4_warnings)
        missing = [line for line in expected_cf_lines if line not in cf_text.splitlines()]
        if missing:
            return CheckResult(False, 'the sendmail.cf built from the candidate does not contain %r; '
                                      'm4 changed the value on the way (nothing was changed)' % missing[0])
        _write(candidate_cf, cf_text)
    else:
        cf_text = text
        _write(candidate_cf, text)

    if tools.sendmail is None:
        if syntax != 'mc':
            warnings.append('sendmail is not installed: the edited .cf was not checked')
        return CheckResult(True, warnings=warnings, cf_text=cf_text)
    if host is None:
        host = local_host_name()
    args = [tools.sendmail, '-C', candidate_cf, '-bC']
    if tools.timeout is not None:
        args = [tools.timeout, '--kill-after=5', str(CF_CHECK_TIMEOUT)] + args
    rc, out, err = None, '', ''
    if not host.qualified:
        if tools.unshare is not None and tools.python is not None:
            rc, out, err = run([tools.unshare, '--uts', '--', tools.python, '-c', _SET_HOST_NAME, _stand_in(host)]
                               + args, workdir)
            if rc != 0 and err.lstrip().startswith(('unshare:', 'Traceback')):
                rc = None  # no private UTS namespace here (e.g. an unprivileged container)
        warnings.append(unqualified_host_warning(host, stand_in=rc is not None))
    if rc is None:
        rc, out, err = run(args, workdir)
    # sendmail shortens long paths with '...'; name the candidate the same way either way.
    lines = _CANDIDATE_PATH.sub('candidate.cf', out + '\n' + err).splitlines()
    if rc in (124, 137) and tools.timeout is not None:
        return CheckResult(False, 'sendmail -bC did not finish within %d s; is the host name a fully '
                                  'qualified domain name? (nothing was changed)' % CF_CHECK_TIMEOUT, rc, out, err)
    cf_warnings, errors = classify(lines, _SENDMAIL_WARNINGS)
    if rc != 0 or errors:
        detail = '; '.join(errors) or 'exit code %d' % rc
        return CheckResult(False, 'sendmail -bC rejected the candidate configuration (nothing was changed): %s'
                           % detail, rc, out, err)
    return CheckResult(True, warnings=warnings + cf_warnings, cf_text=cf_text)
