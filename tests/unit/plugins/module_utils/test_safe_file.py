# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time

import pytest

from ansible_collections.dualstack.mta.plugins.module_utils import _safe_file
from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import (
    FileError, decode, describe, encode, locked, read_text, replace_file, stale_temp_files,
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
    target = tmp_path / 'sendmail.mc'
    target.write_bytes(b'old\n')
    target.chmod(0o640)
    assert replace_file(Module(), str(target), 'new \udcff\n') is None
    assert target.read_bytes() == b'new \xff\n'
    assert oct(target.stat().st_mode & 0o777) == '0o640'
    assert os.listdir(tmp_path) == ['sendmail.mc']


def test_a_symlink_is_followed_and_kept_and_the_backup_sits_beside_the_link(tmp_path):
    store, etc = tmp_path / 'store', tmp_path / 'etc'
    store.mkdir()
    etc.mkdir()
    target = store / 'sendmail.mc'
    target.write_text('old\n')
    link = etc / 'sendmail.mc'
    link.symlink_to(target)
    backup = replace_file(Module(), str(link), 'new\n', backup=True)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == 'new\n'
    assert os.path.dirname(backup) == str(etc) and open(backup).read() == 'old\n'
    assert sorted(os.listdir(etc)) == sorted(['sendmail.mc', os.path.basename(backup)])
    assert os.listdir(store) == ['sendmail.mc']


def test_stale_temp_files_of_earlier_runs_are_recognised_and_removed(tmp_path):
    target = tmp_path / 'main.cf'
    target.write_text('old\n')
    ours = ['.main.cf.4242.k2j3h4g5.dualstack.tmp', '.main.cf.abcd_123', '.main.cf.x8y7z6w5.tmp']
    others = ['.main.cf.swp', 'main.cf.tmp', '.main.cf.4242.k2j3h4g5.dualstack.tmp~', '.other.cf.abcd_123',
              '.main.cf.ABCDEFGH']
    for name in ours + others:
        (tmp_path / name).write_text('partial')
    assert sorted(os.path.basename(p) for p in stale_temp_files(str(tmp_path), 'main.cf')) == sorted(ours)
    replace_file(Module(), str(target), 'new\n')
    assert sorted(os.listdir(tmp_path)) == sorted(['main.cf'] + others)


def test_a_temp_file_is_left_alone_while_its_writer_holds_the_lock(tmp_path):
    target = tmp_path / 'sendmail.mc'
    target.write_text('v1\n')
    busy = tmp_path / '.sendmail.mc.999999.inflight.dualstack.tmp'
    holder = os.open(target, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    busy.write_text('being written')
    done = []
    thread = threading.Thread(target=lambda: done.append(replace_file(Module(), str(target), 'v2\n')))
    thread.start()
    time.sleep(0.3)
    assert busy.exists() and not done  # waits for the lock, touches nothing
    os.close(holder)  # the writer died without cleaning up
    thread.join(timeout=10)
    assert done == [None] and not busy.exists() and target.read_text() == 'v2\n'


def test_replace_file_reuses_the_callers_lock(tmp_path):
    target = tmp_path / 'sendmail.mc'
    target.write_text('v1\n')
    with locked(str(target)):
        replace_file(Module(), str(target), 'v2\n')  # would wait forever for a second flock
    assert target.read_text() == 'v2\n'


def test_a_failed_rename_leaves_the_file_no_temp_file_and_no_backup(tmp_path, monkeypatch):
    target = tmp_path / 'sendmail.mc'
    target.write_text('old\n')
    real_rename = os.rename

    def rename(src, dst):
        if dst == str(target):
            raise PermissionError(errno.EPERM, 'Operation not permitted', dst)
        return real_rename(src, dst)

    monkeypatch.setattr(_safe_file.os, 'rename', rename)
    with pytest.raises(FileError) as failure:
        replace_file(Module(), str(target), 'new\n', backup=True)
    message = str(failure.value)
    assert message.startswith('%s: could not replace the file with the new content' % target)
    assert 'Operation not permitted' in message and 'chattr -i' in message
    assert target.read_text() == 'old\n' and os.listdir(tmp_path) == ['sendmail.mc']


def test_an_exception_that_is_not_an_oserror_still_names_the_file_and_the_cause(tmp_path, monkeypatch):
    target = tmp_path / 'sendmail.mc'
    target.write_text('old\n')

    def copystat(src, dst):
        try:
            raise OSError(errno.ENOSPC, 'No space left on device')
        except OSError as error:
            raise Exception('Could not copy attributes') from error  # ansible-core's style

    monkeypatch.setattr(_safe_file.shutil, 'copystat', copystat)
    with pytest.raises(FileError) as failure:
        replace_file(Module(), str(target), 'new\n')
    assert str(failure.value).startswith(str(target))
    assert 'Could not copy attributes; No space left on device; the file system is full' in str(failure.value)
    assert os.listdir(tmp_path) == ['sendmail.mc']


def test_describe_names_the_errno_and_a_hint():
    assert describe(OSError(errno.EROFS, 'Read-only file system', '/etc/mail/x')) == \
        'Read-only file system (/etc/mail/x); the file system is mounted read-only'


def test_lock_follows_a_file_replaced_while_waiting(tmp_path):
    """A writer renames a new file into place while we wait: we must lock the new one."""
    target = tmp_path / 'sendmail.mc'
    target.write_text('v1\n')
    holder = os.open(target, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    seen = []

    def waiter():
        with locked(str(target)):
            seen.append(read_text(str(target)))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.2)
    replacement = tmp_path / 'new'
    replacement.write_text('v2\n')
    os.rename(replacement, target)
    os.close(holder)  # releases the lock on the old inode
    thread.join(timeout=10)
    assert seen == ['v2\n']
