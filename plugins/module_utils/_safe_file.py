# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Safe read-modify-write of a configuration file.

* ``locked(path)`` holds an exclusive flock on the file for the whole
  read-modify-write, so concurrent runs cannot lose each other's update.
  Writers replace the file by rename, so after waiting for the lock we check
  that the path still names the inode we locked, and retry if it does not.
* ``write_atomically`` writes a temp file in the target's own directory,
  fsyncs it, moves it into place with ``module.atomic_move`` (which keeps
  owner, mode and SELinux context of the file it replaces) and fsyncs the
  directory, so a crash leaves either the old or the new file, never a mix.
* Text is read and written with ``surrogateescape`` so that any byte
  survives unchanged.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from typing import Iterator

ENCODING = 'utf-8'
ERRORS = 'surrogateescape'


def decode(data: bytes) -> str:
    return data.decode(ENCODING, ERRORS)


def encode(text: str) -> bytes:
    return text.encode(ENCODING, ERRORS)


@contextlib.contextmanager
def locked(path: str) -> Iterator[int]:
    """Exclusive flock on ``path`` (which must exist); yields the locked descriptor."""
    while True:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            locked_stat = os.fstat(fd)
            if current is not None and (current.st_dev, current.st_ino) == (locked_stat.st_dev, locked_stat.st_ino):
                yield fd
                return
        finally:
            os.close(fd)  # also releases the lock
        # Someone replaced the file while we waited: lock the new one.


def read_text(path: str) -> str:
    with open(path, 'rb') as handle:
        return decode(handle.read())


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(module, path: str, text: str) -> None:
    """Replace ``path`` with ``text``: temp file in the same directory, fsync, rename, fsync dir."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(encode(text))
            handle.flush()
            os.fsync(handle.fileno())
        # atomic_move copies owner, mode and SELinux context from the file it replaces.
        module.atomic_move(temp_path, path, unsafe_writes=False)
    finally:
        if os.path.exists(temp_path):
            os.unlink(temp_path)
    _fsync_directory(directory)


def backup(module, path: str) -> str:
    """A timestamped copy next to ``path`` (ansible's usual backup naming)."""
    return module.backup_local(path)
