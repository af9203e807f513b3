# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import fcntl
import os
import threading
import time

from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import (
    decode, encode, locked, read_text, write_atomically,
)


class RenamingModule:
    """Stands in for AnsibleModule.atomic_move."""

    def atomic_move(self, src, dest, unsafe_writes=False):
        os.rename(src, dest)


def test_any_bytes_survive_decode_and_encode():
    data = bytes(range(256))
    assert encode(decode(data)) == data


def test_write_atomically_replaces_the_file_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / 'sendmail.mc'
    target.write_bytes(b'old\n')
    write_atomically(RenamingModule(), str(target), 'new \udcff\n')
    assert target.read_bytes() == b'new \xff\n'
    assert os.listdir(tmp_path) == ['sendmail.mc']


def test_failed_move_leaves_the_file_and_no_temp_file(tmp_path):
    class FailingModule:
        def atomic_move(self, src, dest, unsafe_writes=False):
            raise OSError('disk full')

    target = tmp_path / 'sendmail.mc'
    target.write_text('old\n')
    try:
        write_atomically(FailingModule(), str(target), 'new\n')
    except OSError:
        pass
    assert target.read_text() == 'old\n'
    assert os.listdir(tmp_path) == ['sendmail.mc']


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
