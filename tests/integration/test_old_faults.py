# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fault the file already has does not block a new edit; a fault the edit adds refuses it.

Real m4, cf macros and ``sendmail -bC``.  The old fault is what a hand-kept file often has: a
``dnl`` line indented with blanks, which m4 copies into sendmail.cf as a blank-padded line that
sendmail reads as "unknown configuration line".
"""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import M4, REQUIRES_SENDMAIL, run_module

pytestmark = REQUIRES_SENDMAIL

INDENTED = "  dnl DAEMON_OPTIONS(`Family=inet6, Name=MTA-v6, Port=smtp, Addr=::1')dnl\n"


@pytest.fixture
def faulty_mc(mc):
    """Debian's sendmail.mc with an indented dnl line after the mailers, where the blanks end up in
    sendmail.cf as a line of their own."""
    text = mc.read_text()
    mc.write_text(text + INDENTED)
    built = subprocess.run([M4, str(mc)], cwd=str(mc.parent), capture_output=True, text=True, timeout=60, check=True)
    assert "\n  \n" in built.stdout  # the fault is there before any edit
    return mc


@pytest.mark.parametrize("check", [False, True], ids=["run", "check_mode"])
@pytest.mark.parametrize("module, args", [
    ("sendmail_mc", dict(feature="nocanonify")),
    ("sendmail_daemon", dict(name="MTA-v6-lo", family="inet6", addr="::1", port="2525")),
    ("sendmail_config", dict(settings=[dict(define="confLOG_LEVEL", value="12")])),
])
def test_an_unrelated_change_passes_and_names_the_old_fault(netns, faulty_mc, module, args, check):
    original = faulty_mc.read_bytes()
    lines = original.decode().splitlines()
    result = run_module(netns, module, check=check, path=str(faulty_mc), **args)
    assert not result.get("failed") and result["changed"], result.get("msg")
    warnings = " ".join(result.get("warnings", []))
    assert "already has a problem" in warnings and "unknown configuration line" in warnings, warnings
    line = lines.index(INDENTED.rstrip("\n")) + 1
    assert f"line {line} of {faulty_mc}" in warnings, warnings
    assert re.search(r"sendmail\.cf line [0-9]+ is '  '", warnings), warnings
    assert "remove the indentation" in warnings
    if check:
        assert faulty_mc.read_bytes() == original
    else:
        assert faulty_mc.read_bytes() != original and INDENTED in faulty_mc.read_text()


def test_a_change_that_adds_a_fault_is_refused_and_nothing_changes(netns, faulty_mc):
    original = faulty_mc.read_bytes()
    result = run_module(netns, "sendmail_mc", path=str(faulty_mc), define="confDELIVERY_MODE", value="z")
    assert result.get("failed"), result
    assert "Unknown delivery mode z" in result["msg"] and "already has" in result["msg"], result["msg"]
    assert faulty_mc.read_bytes() == original


def test_a_file_that_cannot_be_built_is_said_to_be_so(netns, mc):
    mc.write_text(mc.read_text().replace("include(`/usr/share/sendmail/cf/m4/cf.m4')",
                                         "include(`/usr/share/sendmail/cf/m4/missing.m4')"))
    original = mc.read_bytes()
    result = run_module(netns, "sendmail_mc", path=str(mc), feature="nocanonify")
    assert result.get("failed") and "cannot be built either" in result["msg"], result
    assert mc.read_bytes() == original
