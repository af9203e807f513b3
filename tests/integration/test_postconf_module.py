# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""dualstack.mta.postconf against Debian's real postconf and postfix check, on failure paths.

postfix and sendmail-bin cannot share one root file system, so postfix lives in a minimal
Debian root built once by ``postfix-root`` (debootstrap, cached by recipe). Each session mounts
an overlay over it (the cache stays pristine, concurrent sessions do not meet), and the module
runs there through ansible's chroot connection with the root's own python3, which has no
netaddr. Every mount and namespace made here is removed again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import REQUIRES_POSTFIX_ROOT, fill, network_namespace, run_postconf

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).with_name("ansible"))

pytestmark = REQUIRES_POSTFIX_ROOT


@pytest.fixture(scope="module")
def root(postfix_root):
    return postfix_root


# Red Hat's stock main.cf as the project keeps it (tests/fixtures/stock/el), with Debian's postfix
# programs: postfix check fails on a daemon_directory or shlib_directory that does not exist
# (and the module then puts the previous main.cf back, as it should).
EL_MAIN_CF = ((REPO / "tests" / "fixtures" / "stock" / "el" / "main.cf").read_text()
              .replace("daemon_directory = /usr/libexec/postfix", "daemon_directory = /usr/lib/postfix/sbin")
              .replace("shlib_directory = /usr/lib64/postfix", "shlib_directory = /usr/lib/postfix"))


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, check=check)


@pytest.fixture
def etc(root):
    """/etc/postfix as the package left it, before and after every test."""
    config = root / "etc" / "postfix"
    pristine = root.parent / "pristine"

    def reset():
        shutil.rmtree(config, ignore_errors=True)
        shutil.copytree(pristine, config, symlinks=True)
        shutil.rmtree(root / "srv" / "config", ignore_errors=True)

    reset()
    yield config
    reset()


def postconf(root, *args, netns=None):
    command = ([] if netns is None else ["ip", "netns", "exec", netns]) + ["chroot", str(root), "postconf"] + list(args)
    return sh(*command).stdout.strip()


def listing(directory):
    return sorted(os.listdir(directory))


# --- meaning ---------------------------------------------------------------------------------

def test_lists_in_another_order_or_spelling_are_no_change(root, etc):
    assert postconf(root, "-h", "inet_protocols") == "all"
    before = (etc / "main.cf").read_bytes()
    for args in (dict(name="inet_protocols", value="ipv6, ipv4"),
                 dict(name="mynetworks", value=["[::1]/128", "[::ffff:127.0.0.0]/104", "127.0.0.0/8"])):
        result = run_postconf(root, **args)
        assert not result.get("failed") and not result["changed"], result
    assert (etc / "main.cf").read_bytes() == before
    first = run_postconf(root, name="inet_protocols", value="ipv4")
    again = run_postconf(root, name="inet_protocols", value="ipv4,ipv4")
    assert first["changed"] and not again["changed"], (first.get("msg"), again)


def test_backup_keeps_the_previous_main_cf_only_when_it_changes(root, etc):
    before = (etc / "main.cf").read_bytes()
    checked = run_postconf(root, check=True, name="inet_protocols", value="ipv4", backup=True)
    assert checked["changed"] and "backup_file" not in checked, checked
    changed = run_postconf(root, name="inet_protocols", value="ipv4", backup=True)
    assert changed["changed"], changed
    backup = root / changed["backup_file"].lstrip("/")
    assert backup.parent == etc and backup.read_bytes() == before
    again = run_postconf(root, name="inet_protocols", value="ipv4", backup=True)
    assert not again["changed"] and "backup_file" not in again, again
    assert [name for name in listing(etc) if name.endswith("~")] == [backup.name]


# --- control characters ----------------------------------------------------------------------

@pytest.mark.parametrize("character", ["\r", "\n", "\t", "\x00"], ids=["CR", "LF", "TAB", "NUL"])
def test_control_characters_are_refused_in_every_value(root, etc, character):
    values = {
        "inet_protocols": "all", "inet_interfaces": "all", "mynetworks": "127.0.0.0/8",
        "smtp_bind_address": "127.0.0.1", "smtp_bind_address6": "::1", "smtp_address_preference": "any",
        "smtpd_banner": "$myhostname ESMTP", "relayhost": "[mx.example.test]",
    }
    before = (etc / "main.cf").read_bytes()
    result = run_postconf(root, parameters={name: value + character for name, value in values.items()})
    assert result.get("failed") and sorted(p.split(":")[0] for p in result["problems"]) == sorted(values), result
    assert all("control character" in problem for problem in result["problems"])
    single = run_postconf(root, name="inet_protocols", value=character + "all")
    assert single.get("failed") and "control character" in single["msg"]
    assert (etc / "main.cf").read_bytes() == before


# --- a symlinked main.cf ---------------------------------------------------------------------

def test_a_symlinked_main_cf_stays_a_link_and_its_target_changes(root, etc):
    store = root / "srv" / "config"
    store.mkdir(parents=True)
    (etc / "main.cf").rename(store / "main.cf")
    (store / "main.cf").chmod(0o640)
    (etc / "main.cf").symlink_to("/srv/config/main.cf")
    result = run_postconf(root, name="inet_protocols", value="ipv4")
    assert result["changed"], result
    assert (etc / "main.cf").is_symlink() and os.readlink(etc / "main.cf") == "/srv/config/main.cf"
    assert "inet_protocols = ipv4" in (store / "main.cf").read_text().splitlines()
    assert oct((store / "main.cf").stat().st_mode & 0o777) == "0o640"
    assert postconf(root, "-h", "inet_protocols") == "ipv4"
    assert listing(store) == ["main.cf"]


# --- a full disk, a read-only mount, an immutable file ---------------------------------------


def small_tmpfs(etc, mounts):
    saved = Path(tempfile.mkdtemp(prefix="dsmta-etc-"))
    shutil.copytree(etc, saved / "postfix", symlinks=True)
    sh("mount", "-t", "tmpfs", "-o", "size=512k,mode=0755", "tmpfs", str(etc))
    mounts.append(etc)
    for entry in (saved / "postfix").iterdir():
        if entry.is_symlink():
            os.symlink(os.readlink(entry), etc / entry.name)
        elif entry.is_dir():
            shutil.copytree(entry, etc / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, etc / entry.name)
    shutil.rmtree(saved)


def test_a_full_disk_fails_naming_main_cf_and_leaves_nothing(root, etc, mounts):
    small_tmpfs(etc, mounts)
    fill(etc, 0)
    before, files = (etc / "main.cf").read_bytes(), listing(etc)
    result = run_postconf(root, name="inet_protocols", value="ipv4")
    assert result.get("failed"), result
    assert result["msg"].startswith("/etc/postfix/main.cf: could not "), result["msg"]
    assert "No space left on device" in result["msg"] and "main.cf is unchanged" in result["msg"]
    assert "rename" not in result["msg"].split(":")[1]  # the cause, not a clean-up step
    assert (etc / "main.cf").read_bytes() == before and listing(etc) == files
    (etc / "filler").unlink()
    assert run_postconf(root, name="inet_protocols", value="ipv4")["changed"]
    assert listing(etc) == [name for name in files if name != "filler"]


def test_a_read_only_mount_fails_naming_main_cf(root, etc, mounts):
    sh("mount", "--bind", str(etc), str(etc))
    mounts.append(etc)
    sh("mount", "-o", "remount,bind,ro", str(etc))
    before = (etc / "main.cf").read_bytes()
    result = run_postconf(root, name="inet_protocols", value="ipv4")
    assert result.get("failed") and result["msg"].startswith("/etc/postfix/main.cf: could not "), result
    assert "Read-only file system" in result["msg"] and "mounted read-only" in result["msg"]
    assert (etc / "main.cf").read_bytes() == before


def test_an_immutable_main_cf_fails_naming_the_file_and_the_fix(root, etc):
    main_cf = etc / "main.cf"
    if sh("chattr", "+i", str(main_cf), check=False).returncode != 0:
        pytest.skip(f"chattr +i is not supported on the file system under {etc}")
    try:
        before, files = main_cf.read_bytes(), listing(etc)
        result = run_postconf(root, name="inet_protocols", value="ipv4")
        assert result.get("failed") and result["msg"].startswith("/etc/postfix/main.cf: could not replace"), result
        assert "Operation not permitted" in result["msg"] and "chattr -i" in result["msg"]
        assert main_cf.read_bytes() == before and listing(etc) == files
    finally:
        sh("chattr", "-i", str(main_cf), check=False)


# --- killed runs -----------------------------------------------------------------------------

def test_killed_runs_leave_nothing_a_good_run_does_not_clear(root, etc):
    (etc / ".main.cf.k3j4h5g6").write_text("not ours: kept")
    files = listing(etc)
    for delay in (0.8, 1.2, 1.6, 2.0, 2.4, 2.8):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".cache" / "collections"))
        value = "ipv4" if delay * 10 % 4 else "all"
        process = subprocess.Popen(
            [ANSIBLE, "all", "-i", f"{root},", "-c", "community.general.chroot",
             "-e", "ansible_python_interpreter=/usr/bin/python3", "-m", "dualstack.mta.postconf",
             "-a", json.dumps(dict(name="inet_protocols", value=value))],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    result = run_postconf(root, name="inet_protocols", value="ipv6")
    assert result["changed"], result
    assert postconf(root, "-h", "inet_protocols") == "ipv6"
    assert listing(etc) == files


# --- a host without IPv6, with EL's stock main.cf --------------------------------------------

@pytest.fixture
def no_ipv6():
    """A network namespace with loopback up and IPv6 switched off, as the postconf scenario does."""
    disabled = [f"net.ipv6.conf.{key}.disable_ipv6=1" for key in ("all", "default", "lo")]
    with network_namespace(f"dsmta-nov6-{os.getpid()}", sysctls=disabled, ipv4=False, ipv6=False) as name:
        yield name


def test_el_main_cf_on_a_host_without_ipv6_is_read_and_repaired(root, etc, no_ipv6):
    (etc / "main.cf").write_text(EL_MAIN_CF)
    broken = sh("ip", "netns", "exec", no_ipv6, "chroot", str(root), "postconf", "inet_protocols", check=False)
    assert broken.returncode != 0 and "no local interface found for ::1" in broken.stderr

    refused = run_postconf(root, netns=no_ipv6, name="inet_protocols", value="all")
    assert refused.get("failed") and "no interface has the IPv6 loopback address ::1" in refused["msg"], refused
    assert (etc / "main.cf").read_text() == EL_MAIN_CF

    check = run_postconf(root, netns=no_ipv6, check=True, name="inet_protocols", value="all", ipv6_fallback=True)
    fixed = run_postconf(root, netns=no_ipv6, name="inet_protocols", value="all", ipv6_fallback=True)
    again = run_postconf(root, netns=no_ipv6, name="inet_protocols", value="all", ipv6_fallback=True)
    for result in (check, fixed, again):
        assert result["ipv6_fallback_applied"] and not result.get("failed"), result
    assert check["changed"] and fixed["changed"] and not again["changed"]
    assert check["changes"] == [dict(name="inet_protocols", before="all", after="ipv4")]
    assert any("cannot read main.cf as it is" in warning for warning in check["postconf_warnings"])
    assert postconf(root, "-h", "inet_protocols", "inet_interfaces", netns=no_ipv6).split() == ["ipv4", "localhost"]
