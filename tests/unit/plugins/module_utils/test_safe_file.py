# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import threading
import time

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils import _safe_file
from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import (
    FileError,
    decode,
    describe,
    encode,
    locked,
    read_text,
    replace_file,
    stale_temp_files,
)


class Module:
    """The parts of AnsibleModule replace_file uses; SELinux is off on the test machine."""

    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def selinux_enabled(self):
        return False


def test_any_bytes_survive_decode_and_encode():
    data = bytes(range(256))
    assert encode(decode(data)) == data


def test_replace_file_writes_any_bytes_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "sendmail.mc"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    assert replace_file(Module(), str(target), "new \udcff\n") is None
    assert target.read_bytes() == b"new \xff\n"
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert os.listdir(tmp_path) == ["sendmail.mc"]


def test_a_symlink_is_followed_and_kept_and_the_backup_sits_beside_the_link(tmp_path):
    store, etc = tmp_path / "store", tmp_path / "etc"
    store.mkdir()
    etc.mkdir()
    target = store / "sendmail.mc"
    target.write_text("old\n")
    link = etc / "sendmail.mc"
    link.symlink_to(target)
    backup = replace_file(Module(), str(link), "new\n", backup=True)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new\n"
    assert os.path.dirname(backup) == str(etc) and open(backup).read() == "old\n"
    assert sorted(os.listdir(etc)) == sorted(["sendmail.mc", os.path.basename(backup)])
    assert os.listdir(store) == ["sendmail.mc"]


def dead_pid():
    """The pid of a process that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# Names that editors, etckeeper, dpkg, ucf, rpm and people leave beside a file.
ADMIN_NAMES = [
    ".{0}.original", ".{0}.previous", ".{0}.tmpfile1", ".{0}.20240101", ".{0}.abcdefgh", ".{0}.abcdefgh.tmp",
    ".{0}.abcd_123", ".{0}.swp", ".{0}.swx", ".{0}~", "{0}~", "{0}.1", "{0}.2024-01-01", "{0}.20240101",
    "{0}.orig", "{0}.bak", "{0}.old", "{0}.dpkg-old", "{0}.dpkg-dist", "{0}.dpkg-new", "{0}.ucf-old",
    "{0}.ucf-dist", "{0}.rpmnew", "{0}.rpmsave", "{0}.tmp", "#{0}#", ".#{0}", ".{0}.4242.k2j3h4g5",
    ".{0}.4242.k2j3h4g5.tmp", ".{0}.4242.k2j3h4g5.dualstack.tmp~", ".{0}.4242.k2j3h4g5.dualstack.tmp.bak",
    "{0}.4242.k2j3h4g5.dualstack.tmp", ".{0}.4242.K2J3H4G5.dualstack.tmp", ".{0}.4242.k2j3h4g.dualstack.tmp",
    ".{0}.4242.k2j3h4g5x.dualstack.tmp", ".{0}.0.k2j3h4g5.dualstack.tmp", ".{0}.04242.k2j3h4g5.dualstack.tmp",
    ".{0}.12345678.k2j3h4g5.dualstack.tmp", ".{0}.x.k2j3h4g5.dualstack.tmp", ".{0}..k2j3h4g5.dualstack.tmp",
    ".{0}.4242.k2j3-4g5.dualstack.tmp", ".{0}.4242.k2j3h4g5.dualstack.tmp.4242.k2j3h4g5.dualstack.tmp",
    ".other.cf.4242.k2j3h4g5.dualstack.tmp", ".{0}x.4242.k2j3h4g5.dualstack.tmp",
]


@pytest.mark.parametrize("name", ["main.cf", "sendmail.mc", "submit.mc", "sendmail.cf"])
def test_the_names_of_our_own_temp_files_match(tmp_path, name):
    pattern = _safe_file._stale_name(name)
    made = 0
    while made < 200:  # mkstemp's random part is random: try many
        fd, temp = _safe_file._temp_file(str(tmp_path), name)
        os.close(fd)
        match = pattern.fullmatch(os.path.basename(temp))
        assert match and int(match.group(1)) == os.getpid(), temp
        os.unlink(temp)
        made += 1
    for pid in (1, 4242, 4194303):
        assert pattern.fullmatch(f".{name}.{pid}.k2j3_4g5.dualstack.tmp")


@pytest.mark.parametrize("template", ADMIN_NAMES)
@pytest.mark.parametrize("name", ["main.cf", "sendmail.mc"])
def test_names_an_admin_or_a_package_tool_leaves_never_match(name, template):
    assert not _safe_file._stale_name(name).fullmatch(template.format(name))


def test_only_our_temp_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "main.cf"
    target.write_text("old\n")
    dead = dead_pid()
    ours = [f".main.cf.{dead}.k2j3h4g5.dualstack.tmp", f".main.cf.{dead}.abcd_123.dualstack.tmp"]
    running = [f".main.cf.{os.getpid()}.k2j3h4g5.dualstack.tmp", ".main.cf.1.k2j3h4g5.dualstack.tmp"]
    others = [template.format("main.cf") for template in ADMIN_NAMES]
    for name in ours + running + others:
        (tmp_path / name).write_text("partial")
    (tmp_path / f".main.cf.{dead}.linklink.dualstack.tmp").symlink_to(target)
    (tmp_path / f".main.cf.{dead}.dirdir_1.dualstack.tmp").mkdir()
    kept = sorted(set(os.listdir(tmp_path)) - set(ours))
    before = {name: (tmp_path / name).lstat() for name in kept}
    assert sorted(os.path.basename(p) for p in stale_temp_files(str(tmp_path), "main.cf")) == sorted(ours)
    replace_file(Module(), str(target), "new\n")
    assert sorted(os.listdir(tmp_path)) == kept
    for name in kept:
        if name != "main.cf":
            after = (tmp_path / name).lstat()
            assert (after.st_ino, after.st_mtime_ns, after.st_size) == \
                (before[name].st_ino, before[name].st_mtime_ns, before[name].st_size), name


def test_a_backup_never_replaces_a_file_of_the_same_name(tmp_path, monkeypatch):
    target = tmp_path / "sendmail.mc"
    target.write_text("old\n")
    monkeypatch.setattr(_safe_file.time, "strftime", lambda *args: "2024-01-01@00:00:00~")
    taken = tmp_path / f"sendmail.mc.{os.getpid()}.2024-01-01@00:00:00~"
    taken.write_text("the admin's\n")
    with pytest.raises(FileError) as failure:
        replace_file(Module(), str(target), "new\n", backup=True)
    assert f"could not make the backup {taken}" in str(failure.value) and "File exists" in str(failure.value)
    assert taken.read_text() == "the admin's\n" and target.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == sorted(["sendmail.mc", taken.name])


def test_a_temp_file_is_left_alone_while_its_writer_holds_the_lock(tmp_path):
    target = tmp_path / "sendmail.mc"
    target.write_text("v1\n")
    busy = tmp_path / f".sendmail.mc.{dead_pid()}.inflight.dualstack.tmp"
    holder = os.open(target, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    busy.write_text("being written")
    done = []
    thread = threading.Thread(target=lambda: done.append(replace_file(Module(), str(target), "v2\n")))
    thread.start()
    time.sleep(0.3)
    assert busy.exists() and not done  # waits for the lock, touches nothing
    os.close(holder)  # the writer died without cleaning up
    thread.join(timeout=10)
    assert done == [None] and not busy.exists() and target.read_text() == "v2\n"


def test_replace_file_reuses_the_callers_lock(tmp_path):
    target = tmp_path / "sendmail.mc"
    target.write_text("v1\n")
    with locked(str(target)):
        replace_file(Module(), str(target), "v2\n")  # would wait forever for a second flock
    assert target.read_text() == "v2\n"


def test_a_failed_rename_leaves_the_file_no_temp_file_and_no_backup(tmp_path, monkeypatch):
    target = tmp_path / "sendmail.mc"
    target.write_text("old\n")
    real_rename = os.rename

    def rename(src, dst):
        if dst == str(target):
            raise PermissionError(errno.EPERM, "Operation not permitted", dst)
        return real_rename(src, dst)

    monkeypatch.setattr(_safe_file.os, "rename", rename)
    with pytest.raises(FileError) as failure:
        replace_file(Module(), str(target), "new\n", backup=True)
    message = str(failure.value)
    assert message.startswith(f"{target}: could not replace the file with the new content")
    assert "Operation not permitted" in message and "chattr -i" in message
    assert target.read_text() == "old\n" and os.listdir(tmp_path) == ["sendmail.mc"]


def test_an_exception_that_is_not_an_oserror_still_names_the_file_and_the_cause(tmp_path, monkeypatch):
    target = tmp_path / "sendmail.mc"
    target.write_text("old\n")

    def copystat(src, dst):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as error:
            raise Exception("Could not copy attributes") from error  # ansible-core's style

    monkeypatch.setattr(_safe_file.shutil, "copystat", copystat)
    with pytest.raises(FileError) as failure:
        replace_file(Module(), str(target), "new\n")
    assert str(failure.value).startswith(str(target))
    assert "Could not copy attributes; No space left on device; the file system is full" in str(failure.value)
    assert os.listdir(tmp_path) == ["sendmail.mc"]


def test_describe_names_the_errno_and_a_hint():
    assert describe(OSError(errno.EROFS, "Read-only file system", "/etc/mail/x")) == \
        "Read-only file system (/etc/mail/x); the file system is mounted read-only"


def test_lock_follows_a_file_replaced_while_waiting(tmp_path):
    """A writer renames a new file into place while we wait: we must lock the new one."""
    target = tmp_path / "sendmail.mc"
    target.write_text("v1\n")
    holder = os.open(target, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    seen = []

    def waiter():
        with locked(str(target)):
            seen.append(read_text(str(target)))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    replacement = tmp_path / "new"
    replacement.write_text("v2\n")
    os.rename(replacement, target)
    os.close(holder)  # releases the lock on the old inode
    thread.join(timeout=10)
    assert seen == ["v2\n"]
