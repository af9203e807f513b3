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
from typing import Callable, List, Optional, Tuple

CF_CHECK_TIMEOUT = 120  # sendmail stalls ~60 s when the host name is not an FQDN

# Where the sendmail cf macros live: Debian, Slackware, FreeBSD / Red Hat / openSUSE.
CF_DIRS = ("/usr/share/sendmail/cf", "/usr/share/sendmail-cf", "/usr/share/sendmail")

# (args, cwd) -> (rc, stdout, stderr); typing's generics, since this alias is evaluated on Python 3.8.
Runner = Callable[[List[str], Optional[str]], Tuple[int, str, str]]

# What m4 (and the cf macros through errprint) prints that leaves a complete, working .cf.
_M4_WARNINGS = (
    # GNU m4 (which names itself as it was called, /usr/bin/m4 too), for a file without a final newline.
    re.compile(r"(?:\S*/)?m4:[^\n]*: [Ww]arning: end of file treated as newline"),
    # cf macros: a deprecated FEATURE, define or OSTYPE that still works (under its new name).
    re.compile(r"WARNING: FEATURE\(`?[A-Za-z0-9_.]+\'?\) is deprecated[;.][^\n]*"),
    re.compile(r"WARNING: `?conf[A-Z0-9_]+\'? is deprecated[;.][^\n]*"),
    re.compile(r"NOTE: OSTYPE\(`?[A-Za-z0-9_.-]+\'?\) is deprecated\.[^\n]*"),
)

# What sendmail -bC prints about a configuration it accepts.  Lines in sendmail's own warning
# spelling ("Warning: ...") are warnings; upper-case "WARNING:" lines only in these forms.
_SENDMAIL_WARNINGS = (
    re.compile(r"Warning: [^\n]*"),
    re.compile(r"WARNING: local host name \([^)\n]*\) is not qualified; see cf/README: WHO AM I\?"),
    re.compile(r"WARNING: unable to qualify my own domain name \([^)\n]*\) -- using short name"),
    re.compile(r"WARNING: mailer=[^,\n]*, flag=. deprecated"),
    re.compile(r"WARNING: Ruleset [^\n]* has multiple definitions"),
    re.compile(r"[^\n]*: WARNING: dangerous write permissions"),
)

_CANDIDATE_PATH = re.compile(r"[^\s:]*candidate\.cf")
_INCLUDES_CF_M4 = re.compile(r"^[ \t]*s?include\([^)\n]*\bcf\.m4\b", re.MULTILINE)


M4, SENDMAIL = "m4", "sendmail"


@dataclass
class CheckResult:
    """Whether a candidate file builds and loads, with what m4 and sendmail printed."""

    ok: bool
    msg: str = ""
    rc: int | None = None
    stdout: str = ""
    stderr: str = ""
    warnings: list[str] = field(default_factory=list)
    cf_text: str = ""  # the .cf that was checked
    stage: str | None = None  # which tool refused: m4 or sendmail (None: nothing could run)
    errors: list[str] = field(default_factory=list)  # the lines it refused with


@dataclass(frozen=True)
class Tools:
    """The programs the check runs, as found on the host (None: not installed)."""

    m4: str | None
    sendmail: str | None
    timeout: str | None
    unshare: str | None = None
    python: str | None = None
    cf_dir: str | None = None  # the cf macro tree, for a .mc that does not include cf.m4


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


def find_cf_dir(candidates: tuple[str, ...] = CF_DIRS) -> str | None:
    """The first of ``candidates`` that holds the sendmail cf macros (m4/cf.m4), or None."""
    for directory in candidates:
        if os.path.isfile(os.path.join(directory, "m4", "cf.m4")):
            return directory
    return None


def _hosts_file_qualifies(name: str, hosts_text: str) -> bool:
    """True when a line of /etc/hosts that names ``name`` also has a name with a domain."""
    for line in hosts_text.splitlines():
        names = [word.lower() for word in line.split("#", 1)[0].split()[1:]]
        if name.lower() in names and any("." in other for other in names):
            return True
    return False


def local_host_name(hosts_file: str = "/etc/hosts") -> HostName:
    """What sendmail will make of this host's name; the same lookups it makes (hosts file, DNS)."""
    name = socket.gethostname()
    if "." in name:
        return HostName(name, True)
    try:
        with open(hosts_file, encoding="utf-8", errors="replace") as handle:
            if _hosts_file_qualifies(name, handle.read()):
                return HostName(name, True)
    except OSError:
        pass
    try:
        found = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
    except (OSError, UnicodeError):
        return HostName(name, False, resolves=False)
    qualified = any("." in (info[3] or "").rstrip(".") for info in found)
    return HostName(name, qualified, resolves=bool(found))


def unqualified_host_warning(host: HostName, stand_in: bool) -> str:
    """The warning for a host name without a domain: what sendmail does with it, and the fix."""
    if host.resolves:
        effect = ("sendmail waits 60 s every time it starts (daemon, newaliases, mailq) looking for one, "
                  "then uses the short name")
    else:
        effect = "sendmail uses the short name (in HELO and its own addresses)"
    how = (f"the candidate was checked under the stand-in name {_stand_in(host)}" if stand_in else
           "no private UTS namespace could be made for the check, so it ran under the short name")
    return (f'this host\'s name {host.name!r} has no domain and none is found for it in /etc/hosts or DNS: {effect}. '
            f'Add the fully qualified name to /etc/hosts (for example "127.0.1.1 {host.name}.example.com {host.name}") or make '
            'it the host name; confDOMAIN_NAME sets the name sendmail announces but does not end a wait '
            f'({how}).')


def _stand_in(host: HostName) -> str:
    return f"{host.name or 'localhost'}.invalid"


# Sets the stand-in host name inside the private UTS namespace, then runs the check.
_SET_HOST_NAME = ("import os, socket, sys\n"
                  "socket.sethostname(sys.argv[1])\n"
                  "os.execv(sys.argv[2], sys.argv[2:])\n")


def classify(lines: list[str], known: tuple[re.Pattern[str], ...]) -> tuple[list[str], list[str]]:
    """(warnings, errors): lines matching a known warning form entirely, and all others."""
    warnings, errors = [], []
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        (warnings if any(form.fullmatch(stripped) for form in known) else errors).append(stripped)
    return warnings, errors


def includes_cf_m4(text: str) -> bool:
    """True when the .mc ``text`` includes cf.m4 itself (as on Debian and Red Hat)."""
    return bool(_INCLUDES_CF_M4.search(text))


def _m4_command(text: str, candidate_mc: str, source_path: str, tools: Tools) -> list[str] | CheckResult:
    """The m4 argument list, or a CheckResult that refuses."""
    if includes_cf_m4(text):
        return [tools.m4, candidate_mc]
    if tools.cf_dir is None:
        return CheckResult(False, "{} does not include cf.m4 (a Makefile that puts cf.m4 in front builds it, as on "
                                  "FreeBSD) and no sendmail cf macros were found in {}; install them or set "
                                  "validate=false (nothing was changed)".format(source_path, ", ".join(CF_DIRS)))
    cf_dir = tools.cf_dir.rstrip("/") + "/"
    return [tools.m4, "-D_CF_DIR_=" + cf_dir, cf_dir + "m4/cf.m4", candidate_mc]


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(text)


def check_candidate(text: str, syntax: str, source_path: str, workdir: str, run: Runner, tools: Tools,
                    expected_cf_lines: tuple[str, ...] = (), host: HostName | None = None) -> CheckResult:
    """Build (for a .mc) and check the candidate ``text`` in ``workdir``.

    ``host`` is this host's name; it is looked up (only when sendmail is to run) when not given.
    """
    if syntax == "mc":
        built = _build_with_m4(text, source_path, workdir, run, tools, expected_cf_lines)
        if not built.ok:
            return built
        cf_text, warnings = built.cf_text, built.warnings
    else:
        cf_text, warnings = text, []
    candidate_cf = os.path.join(workdir, "candidate.cf")
    _write(candidate_cf, cf_text)
    if tools.sendmail is None:
        if syntax != "mc":
            warnings.append("sendmail is not installed: the edited .cf was not checked")
        return CheckResult(True, warnings=warnings, cf_text=cf_text)
    if host is None:
        host = local_host_name()
    return _check_with_sendmail(candidate_cf, cf_text, warnings, workdir, run, tools, host)


def _build_with_m4(text: str, source_path: str, workdir: str, run: Runner, tools: Tools,
                   expected_cf_lines: tuple[str, ...]) -> CheckResult:
    """Build the candidate .mc with m4: the .cf and m4's warnings, or why it is refused."""
    if tools.m4 is None:
        return CheckResult(False, "m4 is not installed; install m4 and the sendmail-cf macros, "
                                  "or set validate=false")
    candidate_mc = os.path.join(workdir, "candidate.mc")
    _write(candidate_mc, text)
    command = _m4_command(text, candidate_mc, source_path, tools)
    if isinstance(command, CheckResult):
        return command
    # Relative include()s in the .mc resolve against its own directory, as under make.
    rc, cf_text, err = run(command, os.path.dirname(os.path.abspath(source_path)))
    m4_warnings, m4_errors = classify(err.replace(candidate_mc, source_path).splitlines(), _M4_WARNINGS)
    if rc != 0 or m4_errors:
        errors = m4_errors if rc == 0 else m4_errors + [f"exit code {rc}"]
        return CheckResult(False, "m4 rejected the candidate {} (nothing was changed): {}".format(source_path, "; ".join(errors)),
                           rc, "", err, stage=M4, errors=errors, cf_text=cf_text if rc == 0 else "")
    missing = [line for line in expected_cf_lines if line not in cf_text.splitlines()]
    if missing:
        return CheckResult(False, f"the sendmail.cf built from the candidate does not contain {missing[0]!r}; "
                                  "m4 changed the value on the way (nothing was changed)")
    return CheckResult(True, warnings=[f"m4: {line}" for line in m4_warnings], cf_text=cf_text)


def _check_with_sendmail(candidate_cf: str, cf_text: str, warnings: list[str], workdir: str, run: Runner, tools: Tools,
                         host: HostName) -> CheckResult:
    """Run ``sendmail -bC`` on the candidate .cf, under a stand-in name when this host's is not qualified."""
    args = [tools.sendmail, "-C", candidate_cf, "-bC"]
    if tools.timeout is not None:
        args = [tools.timeout, "--kill-after=5", str(CF_CHECK_TIMEOUT)] + args
    ran = None
    if not host.qualified:
        ran = _run_under_stand_in(args, workdir, run, tools, host)
        warnings = warnings + [unqualified_host_warning(host, stand_in=ran is not None)]
    rc, out, err = run(args, workdir) if ran is None else ran
    return _sendmail_verdict(rc, out, err, tools, warnings, cf_text)


def _run_under_stand_in(args: list[str], workdir: str, run: Runner, tools: Tools, host: HostName) -> tuple[int, str, str] | None:
    """Run ``args`` in a private UTS namespace under the stand-in host name; None when none can be made."""
    if tools.unshare is None or tools.python is None:
        return None
    rc, out, err = run([tools.unshare, "--uts", "--", tools.python, "-c", _SET_HOST_NAME, _stand_in(host)] + args, workdir)
    if rc != 0 and err.lstrip().startswith(("unshare:", "Traceback")):
        return None  # no private UTS namespace here (e.g. an unprivileged container)
    return rc, out, err


def _sendmail_verdict(rc: int, out: str, err: str, tools: Tools, warnings: list[str], cf_text: str) -> CheckResult:
    """What ``sendmail -bC`` said of the candidate: every line that is not a known warning refuses it."""
    # sendmail shortens long paths with '...'; name the candidate the same way either way.
    lines = _CANDIDATE_PATH.sub("candidate.cf", out + "\n" + err).splitlines()
    if rc in (124, 137) and tools.timeout is not None:
        return CheckResult(False, f"sendmail -bC did not finish within {CF_CHECK_TIMEOUT} s; is the host name a fully "
                                  "qualified domain name? (nothing was changed)", rc, out, err)
    cf_warnings, errors = classify(lines, _SENDMAIL_WARNINGS)
    if rc != 0 or errors:
        errors = errors or [f"exit code {rc}"]
        return CheckResult(False, "sendmail -bC rejected the candidate configuration (nothing was changed): {}".format("; ".join(errors)),
                           rc, out, err, warnings + cf_warnings, cf_text, SENDMAIL, errors)
    return CheckResult(True, warnings=warnings + cf_warnings, cf_text=cf_text)


# ---------------------------------------------------------------------------
# A change is judged by what it adds: problems the file already has are warnings.

_CF_LINE = re.compile(r"candidate\.cf: line ([0-9]+): ")
_INDENTED_MACRO = re.compile(r"^[ \t]+(?:dnl\b|[A-Za-z_][A-Za-z0-9_]*\()", re.MULTILINE)


def _problem(line: str) -> str:
    """An error line without the .cf line number, which moves with every edit."""
    return _CF_LINE.sub("candidate.cf: ", line)


def _new_problems(candidate: list[str], current: list[str]) -> list[str]:
    """The candidate's error lines that the current file does not have (as many times as it has them)."""
    left = [_problem(line) for line in current]
    new = []
    for line in candidate:
        if _problem(line) in left:
            left.remove(_problem(line))
        else:
            new.append(line)
    return new


def _how_to_fix(line: str, current_text: str, current_cf: str, source_path: str) -> str:
    match = _CF_LINE.match(line)
    if match is None:
        return f"correct it in {source_path}"
    number = int(match.group(1))
    cf_lines = current_cf.split("\n")  # as sendmail counts: splitlines() also splits at \x1c-\x1e, \x85
    cf_line = cf_lines[number - 1] if 0 < number <= len(cf_lines) else ""
    if cf_line[:1] in (" ", "\t"):
        indented = [current_text.count("\n", 0, found.start()) + 1 for found in _INDENTED_MACRO.finditer(current_text)]
        where = ("line{} {} of {}".format("s" if len(indented) > 1 else "", ", ".join(str(n) for n in indented), source_path)
                 if indented else f"a line of {source_path}")
        verb = "start" if len(indented) > 1 else "starts"
        return (f"sendmail.cf line {number} is {cf_line!r}: {where} {verb} with blanks before dnl or a macro, and m4 copies the blanks "
                "into sendmail.cf, where a line that starts with a blank continues the one before it; remove the "
                "indentation")
    return f"sendmail.cf line {number} is {cf_line!r}; correct what produces it in {source_path}"


def check_change(current_text: str, text: str, syntax: str, source_path: str, workdir: str, run: Runner,
                 tools: Tools, expected_cf_lines: tuple[str, ...] = (), host: HostName | None = None) -> CheckResult:
    """Check the candidate ``text`` that replaces ``current_text``; only problems it adds refuse it.

    When the candidate is refused, the current file is checked the same way.  The complaints it
    already draws come back as warnings naming the line and the fix, and the candidate passes if
    it adds none of its own.  A current file that m4 cannot build at all is said to be so.
    """
    if host is None and tools.sendmail is not None:
        host = local_host_name()
    result = check_candidate(text, syntax, source_path, workdir, run, tools, expected_cf_lines, host)
    if result.ok or result.stage is None:
        return result
    current_dir = os.path.join(workdir, "current")
    os.mkdir(current_dir)
    current = check_candidate(current_text, syntax, source_path, current_dir, run, tools, (), host)
    if current.ok:
        return result
    if current.stage == M4 and current.rc not in (0, None):
        return CheckResult(False, "{} (the current {} cannot be built either: m4 fails on it with {}; fix the file "
                                  "first, nothing was changed)".format(result.msg, source_path, "; ".join(current.errors)),
                           result.rc, result.stdout, result.stderr, stage=result.stage, errors=result.errors)
    if current.stage != result.stage:
        return result
    new = _new_problems(result.errors, current.errors)
    if new:
        tool = "m4" if result.stage == M4 else "sendmail -bC"
        return CheckResult(False, "{} rejected the candidate {} (nothing was changed): {}".format(
            tool, source_path if result.stage == M4 else "configuration", "; ".join(new)) + (
            "; the current file already has: {}".format("; ".join(current.errors))),
            result.rc, result.stdout, result.stderr, stage=result.stage, errors=new)
    warnings = list(result.warnings)
    for line in current.errors:
        if line.strip() in ('"', "'") or line.startswith("exit code "):
            continue  # the rest of a line that quotes a newline, or only sendmail's exit status
        warnings.append("{} already has a problem, which this change leaves as it is: {}: {}; {}".format(
            source_path, "m4" if result.stage == M4 else "sendmail -bC", line,
            _how_to_fix(line, current_text, current.cf_text, source_path)))
    return CheckResult(True, warnings=warnings, cf_text=result.cf_text)
