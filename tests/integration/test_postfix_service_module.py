# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""dualstack.mta.postfix_service against Debian's real postconf and postfix check, on the stock
master.cf, in the postfix root (see conftest.postfix_root)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import REQUIRES_POSTFIX_ROOT, run_postconf

pytestmark = REQUIRES_POSTFIX_ROOT

SUBMISSION = dict(service="submission/inet", private="n", chroot="y", command="smtpd",
                  options={"smtpd_tls_security_level": "encrypt", "smtpd_sasl_auth_enable": "yes"})


@pytest.fixture(scope="module")
def root(postfix_root):
    return postfix_root


@pytest.fixture
def etc(root):
    """/etc/postfix as the package left it, before and after every test."""
    config = root / "etc" / "postfix"
    pristine = root.parent / "pristine"

    def reset():
        shutil.rmtree(config, ignore_errors=True)
        shutil.copytree(pristine, config, symlinks=True)

    reset()
    yield config
    reset()


def service(root, check=False, diff=False, **options):
    return run_postconf(root, check=check, diff=diff, _module="dualstack.mta.postfix_service", **options)


def postconf(root, *args):
    return subprocess.run(["chroot", str(root), "postconf"] + list(args), capture_output=True, text=True,
                          timeout=60, check=True).stdout.strip()


def test_add_submission_then_no_change(root, etc):
    result = service(root, diff=True, **SUBMISSION)
    assert not result.get("failed"), result
    assert result["changed"] and result["changes"] == ["submission/inet added"]
    assert postconf(root, "-P", "submission/inet/smtpd_tls_security_level") == \
        "submission/inet/smtpd_tls_security_level = encrypt"
    assert "submission inet  n" in result["diff"]["after"] and not result["diff"]["before"]
    again = service(root, **SUBMISSION)
    assert not again.get("failed") and not again["changed"], again
    # Options in another order, chroot spelled as a boolean: the same meaning.
    same = {**SUBMISSION, "chroot": "yes", "options": dict(reversed(list(SUBMISSION["options"].items())))}
    assert not service(root, **same)["changed"]


def test_check_mode_leaves_the_file(root, etc):
    before = (etc / "master.cf").read_bytes()
    result = service(root, check=True, **SUBMISSION)
    assert result["changed"] and (etc / "master.cf").read_bytes() == before


def test_ipv6_listener_field_change_comment_remove(root, etc):
    added = service(root, service="[::1]:smtp/inet", private="n", command="smtpd")
    assert added["changed"], added
    assert postconf(root, "-M", "[::1]:smtp/inet").split()[:2] == ["[::1]:smtp", "inet"]
    # chroot "-" is n: no change when n is asked for.
    assert not service(root, service="[::1]:smtp/inet", chroot="n")["changed"]
    changed = service(root, service="[::1]:smtp/inet", maxproc="10")
    assert changed["changed"] and postconf(root, "-F", "[::1]:smtp/inet/process_limit").endswith("= 10")
    commented = service(root, service="[::1]:smtp/inet", state="commented")
    assert commented["changed"] and postconf(root, "-M", "[::1]:smtp/inet") == ""
    assert "#[::1]:smtp" in (etc / "master.cf").read_text()
    assert not service(root, service="[::1]:smtp/inet", state="commented")["changed"]


def test_remove_and_option_removal(root, etc):
    assert service(root, **SUBMISSION)["changed"]
    dropped = service(root, service="submission/inet", options={"smtpd_sasl_auth_enable": None})
    assert dropped["changed"] and "smtpd_sasl_auth_enable" not in postconf(root, "-P", "submission/inet")
    removed = service(root, service="submission/inet", state="absent")
    assert removed["changed"] and postconf(root, "-M", "submission/inet") == ""
    assert not service(root, service="submission/inet", state="absent")["changed"]


@pytest.mark.parametrize("bad", [
    dict(service="2001:db8::25:smtp/inet", command="smtpd"),
    dict(service="smtp:70000/inet", command="smtpd"),
    dict(service="submission/tcp", command="smtpd"),
    dict(service="submission/inet", command="smtpd", maxproc="1 0"),
    dict(service="submission/inet", command="smtpd\n-o x=y"),
    dict(service="submission/inet", command="smtpd", options={"bad-name": "x"}),
    dict(service="submission/inet", command="smtpd", options={"smtpd_banner": "a b"}),
])
def test_refusal_leaves_master_cf(root, etc, bad):
    before = (etc / "master.cf").read_bytes()
    result = service(root, **bad)
    assert result.get("failed"), result
    assert (etc / "master.cf").read_bytes() == before
