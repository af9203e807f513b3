# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Safe read-modify-write of a configuration file.

* ``locked(path)`` holds an exclusive flock on the file for the whole
  read-modify-write, so concurrent runs cannot lose each other's update.
  Writers replace the file by rename, so after waiting for the lock we check
  that the path still names the inode we locked, and retry if it does not.
  (postfix's own ``postconf -e`` locks ``main.cf.tmp`` instead, so it is not
  held off by this lock.)
* ``replace_file(module, path, text, backup)`` is the one way the modules
  write: under that lock (its caller's, or its own), it

  - follows a symbolic link and changes the file the link points to; the link
    stays a link (a rename onto the link's path would turn it into a regular
    file and leave the target unchanged);
  - removes the temp files an earlier, killed run of this collection left
    beside the file, and nothing else: a name exactly as ``_temp_file``
    makes it (``.<name>.<pid>.<random>.dualstack.tmp``), a regular file, and
    no process with that pid alive. Any other name (an editor's, etckeeper's,
    dpkg's, ucf's, rpm's or a person's copy) is never touched;
  - with ``backup``, copies the file to ``<path>.<pid>.<date>~`` beside the
    path it was given (ansible's usual name), through a temp file renamed only
    once the copy is complete and on disk: a backup that could not be
    finished is never left behind, and an existing file of that name is never
    replaced;
  - writes the new text to a temp file in the target's own directory, gives
    it the owner, mode, extended attributes (ACLs) and SELinux context of the
    file it replaces, fsyncs it, renames it into place and fsyncs the
    directory, so a crash leaves either the old or the new file, never a mix;
  - on any failure removes what it created (temp files, the backup of a file
    that was not changed) and raises ``FileError``, whose message names the
    file, the step that failed and the cause.
* Text is read and written with ``surrogateescape`` so that any byte
  survives unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import stat
import tempfile
import time
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

ENCODING = "utf-8"
ERRORS = "surrogateescape"

TEMP_SUFFIX = ".dualstack.tmp"

# Inodes this process holds the lock of: replace_file reuses its caller's lock.
_HELD: set[tuple[int, int]] = set()

_HINTS = {
    errno.ENOSPC: "the file system is full: free space there and run again",
    errno.EDQUOT: "the disk quota is used up: free space there and run again",
    errno.EROFS: "the file system is mounted read-only",
    errno.EPERM: "the file or its directory may be immutable or append-only (see lsattr; chattr -i)",
    errno.EACCES: "permission denied: run the task with become, or check the directory permissions",
}


class FileError(Exception):
    """A file operation failed: ``path``, the step (``action``) and the ``cause``, in one message."""

    def __init__(self, path: str, action: str, cause: BaseException) -> None:
        self.path = path
        self.action = action
        self.cause = cause
        super().__init__(f"{path}: could not {action}: {describe(cause)}")


def describe(cause: BaseException) -> str:
    """The cause of a failure in words: the OS error with a hint, through chained exceptions."""
    seen = []
    error: BaseException | None = cause
    while error is not None and len(seen) < 5:
        seen.append(error)
        error = error.__cause__ or error.__context__
    os_error = next((e for e in seen if isinstance(e, OSError) and e.errno), None)
    parts = []
    if not isinstance(cause, OSError):
        parts.append(str(cause) or type(cause).__name__)
    if os_error is not None:
        text = os_error.strerror or str(os_error)
        if os_error.filename:
            text += f" ({os_error.filename})"
        parts.append(text)
        hint = _HINTS.get(os_error.errno)
        if hint:
            parts.append(hint)
    elif isinstance(cause, OSError):
        parts.append(str(cause))
    return "; ".join(parts)


def decode(data: bytes) -> str:
    return data.decode(ENCODING, ERRORS)


def encode(text: str) -> bytes:
    return text.encode(ENCODING, ERRORS)


def _identity(info: os.stat_result) -> tuple[int, int]:
    return (info.st_dev, info.st_ino)


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
            identity = _identity(os.fstat(fd))
            if current is not None and _identity(current) == identity:
                _HELD.add(identity)
                try:
                    yield fd
                finally:
                    _HELD.discard(identity)
                return
        finally:
            os.close(fd)  # also releases the lock
        # Someone replaced the file while we waited: lock the new one.


@contextlib.contextmanager
def _lock_unless_held(path: str) -> Iterator[None]:
    if _identity(os.stat(path)) in _HELD:
        yield
    else:
        with locked(path):
            yield


def read_text(path: str) -> str:
    with open(path, "rb") as handle:
        return decode(handle.read())


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# What _temp_file's mkstemp makes: the pid (Linux's are below 2**22, 7 digits), the 8
# characters of mkstemp's random part, then our suffix.
_MKSTEMP_RANDOM = "[a-z0-9_]{8}"


def _stale_name(name: str) -> re.Pattern:
    """Exactly the names ``_temp_file`` gives temp files beside ``name``; group 1 is the pid."""
    return re.compile(rf"\.{re.escape(name)}\.([1-9][0-9]{{0,6}})\.{_MKSTEMP_RANDOM}{re.escape(TEMP_SUFFIX)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but is another user's (EPERM), or we cannot tell
    return True


def stale_temp_files(directory: str, name: str) -> list[str]:
    """Temp files a killed run of this collection left beside ``name``.

    A tool that edits /etc must never remove a file it did not write, so only our own
    marker counts: the exact name ``_temp_file`` makes, a regular file (lstat: never a
    link), and no live process with the pid in the name. Temp files are written only by
    the holder of the file's lock, which the caller holds; the pid is a second guard that
    costs nothing (a pid taken by another process only keeps a leftover until it ends).
    """
    pattern = _stale_name(name)
    found = []
    for entry in sorted(os.listdir(directory)):
        match = pattern.fullmatch(entry)
        if match is None or _alive(int(match.group(1))):
            continue
        candidate = os.path.join(directory, entry)
        try:
            info = os.lstat(candidate)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            found.append(candidate)
    return found


def _remove_stale(module: AnsibleModule, directory: str, name: str) -> None:
    try:
        stale = stale_temp_files(directory, name)
    except OSError:
        return  # nothing we could remove either; the write reports the real problem
    for leftover in stale:
        try:
            os.unlink(leftover)
        except FileNotFoundError:
            pass
        except OSError as error:
            module.warn(f"could not remove {leftover}, a temp file left by an earlier run: {describe(error)}")


def _unlink_quietly(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def _temp_file(directory: str, name: str) -> tuple[int, str]:
    return tempfile.mkstemp(dir=directory, prefix=f".{name}.{os.getpid()}.", suffix=TEMP_SUFFIX)


def _copy_attributes(module: AnsibleModule, source: str, destination: str) -> None:
    """Owner, mode, times, extended attributes and SELinux context of ``source`` onto ``destination``."""
    info = os.stat(source)
    try:
        os.chown(destination, info.st_uid, info.st_gid)
    except PermissionError:
        pass  # not root: the file stays ours, as with any unprivileged write
    shutil.copystat(source, destination)
    if module.selinux_enabled():
        module.set_context_if_different(destination, module.selinux_context(source), False)


def _make_backup(module: AnsibleModule, target: str, given: str, shown: str) -> str:
    """A complete copy of ``target`` at ``<given>.<pid>.<date>~``, or FileError and no file."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime())
    backup_path = f"{given}.{os.getpid()}.{stamp}"
    directory, name = os.path.split(given)
    temp = None
    try:
        fd, temp = _temp_file(directory, name)
        with os.fdopen(fd, "wb") as out, open(target, "rb") as source:
            shutil.copyfileobj(source, out)
            out.flush()
            os.fsync(out.fileno())
        _copy_attributes(module, target, temp)
        if os.path.lexists(backup_path):  # not ours: a rename would replace it
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), backup_path)
        os.rename(temp, backup_path)
        temp = None
        _fsync_directory(directory)
    except BaseException as error:
        _unlink_quietly(temp)
        if isinstance(error, Exception):
            raise FileError(shown, f"make the backup {backup_path}", error) from error
        raise
    return backup_path


def _write(module: AnsibleModule, target: str, data: bytes, shown: str) -> None:
    directory, name = os.path.split(target)
    temp = None
    step = f"create a temp file for the new content in {directory}"
    try:
        fd, temp = _temp_file(directory, name)
        step = f"write the new content to {temp}"
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        step = f"give {temp} the owner, mode and context of the file"
        _copy_attributes(module, target, temp)
        os.utime(temp)  # the content is new
        step = f"replace the file with the new content (rename {temp})"
        os.rename(temp, target)
        temp = None
    except BaseException as error:
        _unlink_quietly(temp)
        if isinstance(error, Exception):
            raise FileError(shown, step, error) from error
        raise
    try:
        _fsync_directory(directory)
    except OSError as error:
        module.warn(f"{target} was replaced, but syncing {directory} failed: {describe(error)}")


def replace_file(module: AnsibleModule, path: str, text: str, backup: bool = False) -> str | None:
    """Replace the content of ``path`` with ``text``; returns the backup's path (with ``backup``).

    A symbolic link is followed: the file it points to changes, the link stays.
    Raises FileError, with nothing left behind, when any step fails.
    """
    given = os.path.abspath(path)
    target = os.path.realpath(given)
    shown = target if target == given else f"{target} (the target of the link {given})"
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(_lock_unless_held(target))
        except Exception as error:
            raise FileError(shown, "lock the file", error) from error
        _remove_stale(module, *os.path.split(target))
        if backup and given != target:
            _remove_stale(module, *os.path.split(given))
        backup_path = _make_backup(module, target, given, shown) if backup else None
        try:
            _write(module, target, encode(text), shown)
        except BaseException:
            _unlink_quietly(backup_path)  # the file did not change: nothing to restore from it
            raise
        return backup_path
