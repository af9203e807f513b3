# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sendmail modules where writing goes wrong: symlinks, full and read-only file systems,
immutable files and killed runs, with the real m4 and ``sendmail -bC`` validating each change.

sendmail runs in its own UTS namespace with an FQDN host name (it stalls without one). Mounts
made here are unmounted by the tests' fixtures.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ANSIBLE, DEBIAN_MC, M4, REPO, REQUIRES_SENDMAIL, fill

COLLECTIONS = REPO / ".cache" / "collections"
IPV6 = "2001:db8:25::10"
TASK = dict(name="MTA-v6", family="inet6", addr=IPV6, port="smtp")

pytestmark = REQUIRES_SENDMAIL


def module_command(module, args):
    command = [ANSIBLE, "localhost", "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=" + sys.executable,
               "-m", "dualstack.mta." + module, "-a", json.dumps(args)]
    return ["unshare", "--uts", "--", "sh", "-c", 'hostname mx.example.test && exec "$@"', "sh"] + command


def module_env():
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", LC_ALL="C.UTF-8")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
    env.setdefault("PYTHONPATH", str(COLLECTIONS))
    return env


def run_module(module="sendmail_daemon", **args):
    done = subprocess.run(module_command(module, args), env=module_env(), capture_output=True, text=True,
                          timeout=180, check=False)
    try:
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no module result (rc={done.returncode}):\n{done.stdout}\n{done.stderr}")


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=check)


def build_cf(mc_path):
    done = subprocess.run([M4, str(mc_path)], cwd=str(mc_path.parent), capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, LC_ALL="C"), check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    return done.stdout


@pytest.fixture
def mail_dir(tmp_path):
    directory = tmp_path / "mail"
    directory.mkdir()
    shutil.copyfile(DEBIAN_MC, directory / "sendmail.mc")
    return directory


@pytest.fixture
def small_disk(tmp_path, mounts):
    directory = tmp_path / "small"
    directory.mkdir()
    sh("mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(directory))
    mounts.append(directory)
    # A long-kept file: comments make it many pages long, as real ones are.
    history = "".join(f"dnl {n:04d} changed by the admin for ticket {4000 + n}\n" for n in range(1200))
    (directory / "sendmail.mc").write_text(history + DEBIAN_MC.read_text())
    return directory


# --- a symlinked .mc ---------------------------------------------------------------------------

def test_a_symlinked_mc_stays_a_link_its_target_changes_and_the_backup_sits_beside_the_link(tmp_path, mail_dir):
    store = tmp_path / "store"
    store.mkdir()
    target = store / "sendmail.mc"
    (mail_dir / "sendmail.mc").rename(target)
    target.chmod(0o640)
    link = mail_dir / "sendmail.mc"
    link.symlink_to(target)
    original = target.read_bytes()
    result = run_module(path=str(link), backup=True, **TASK)
    assert result["changed"], result
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert f"Addr={IPV6}" in target.read_text() and oct(target.stat().st_mode & 0o777) == "0o640"
    backup = Path(result["backup_file"])
    assert backup.parent == mail_dir and backup.read_bytes() == original
    assert f"O DaemonPortOptions=Family=inet6, Name=MTA-v6, Port=smtp, Addr={IPV6}" in build_cf(target).splitlines()
    assert sorted(os.listdir(mail_dir)) == sorted(["sendmail.mc", backup.name]) and os.listdir(store) == ["sendmail.mc"]
    assert not run_module(path=str(link), **TASK)["changed"]


# --- a full disk -------------------------------------------------------------------------------

def test_no_room_for_the_backup_fails_naming_the_file_and_leaves_no_partial_backup(small_disk):
    mc = small_disk / "sendmail.mc"
    original = mc.read_bytes()
    fill(small_disk, len(original) // 2)
    result = run_module(path=str(mc), backup=True, **TASK)
    assert result.get("failed"), result
    assert result["msg"].startswith(f"{mc}: could not make the backup {mc}."), result["msg"]
    assert "No space left on device" in result["msg"] and "file system is full" in result["msg"]
    assert mc.read_bytes() == original and sorted(os.listdir(small_disk)) == ["filler", "sendmail.mc"]


def test_no_room_for_the_new_file_fails_and_removes_the_backup_of_the_unchanged_file(small_disk):
    mc = small_disk / "sendmail.mc"
    original = mc.read_bytes()
    for backup, room in ((True, -(-len(original) // 4096) * 4096), (False, len(original) // 2)):
        fill(small_disk, room)  # with a backup: the backup fits, the new file does not
        result = run_module(path=str(mc), backup=backup, **TASK)
        assert result.get("failed"), result
        assert result["msg"].startswith(f"{mc}: could not ") and "No space left on device" in result["msg"]
        assert mc.read_bytes() == original and sorted(os.listdir(small_disk)) == ["filler", "sendmail.mc"]
    (small_disk / "filler").unlink()
    assert run_module(path=str(mc), backup=True, **TASK)["changed"]


# --- a read-only mount and an immutable file ------------------------------------------------------

def test_a_read_only_mount_fails_naming_the_file_and_the_cause(mail_dir, mounts):
    sh("mount", "--bind", str(mail_dir), str(mail_dir))
    mounts.append(mail_dir)
    sh("mount", "-o", "remount,bind,ro", str(mail_dir))
    mc = mail_dir / "sendmail.mc"
    original = mc.read_bytes()
    result = run_module(path=str(mc), backup=True, **TASK)
    assert result.get("failed") and result["msg"].startswith(f"{mc}: could not "), result
    assert "Read-only file system" in result["msg"] and "mounted read-only" in result["msg"]
    assert mc.read_bytes() == original


def test_an_immutable_mc_fails_naming_the_file_and_the_fix(mail_dir):
    mc = mail_dir / "sendmail.mc"
    if sh("chattr", "+i", str(mc), check=False).returncode != 0:
        pytest.skip(f"chattr +i is not supported on the file system under {mail_dir}")
    try:
        original = mc.read_bytes()
        result = run_module(path=str(mc), backup=True, **TASK)
        assert result.get("failed"), result
        assert result["msg"].startswith(f"{mc}: could not replace the file with the new content"), result["msg"]
        assert "Operation not permitted" in result["msg"] and "chattr -i" in result["msg"]
        assert mc.read_bytes() == original and os.listdir(mail_dir) == ["sendmail.mc"]
    finally:
        sh("chattr", "-i", str(mc), check=False)


# --- killed runs -------------------------------------------------------------------------------

KILLED_WRITER = r"""
import os, signal, sys
from ansible_collections.dualstack.mta.plugins.module_utils import _safe_file

class Module:
    def warn(self, text): pass
    def selinux_enabled(self): return False

path, when = sys.argv[1], sys.argv[2]
real_rename = os.rename
def rename(src, dst):
    if (when == 'backup') == dst.endswith('~'):
        os.kill(os.getpid(), signal.SIGKILL)  # the temp file is complete: die before the rename
    return real_rename(src, dst)
os.rename = rename
# A run killed after its backup was complete leaves a true backup: that one is kept.
_safe_file.replace_file(Module(), path, open(path).read() + 'dnl killed\n', backup=(when == 'backup'))
"""


def test_killed_runs_leave_no_stray_file_after_a_good_run(mail_dir):
    mc = mail_dir / "sendmail.mc"
    original = mc.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    for when in ("backup", "write", "write"):
        done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(mc), when], env=env, timeout=60, check=False)
        assert done.returncode == -signal.SIGKILL
    # Each run removed the temp file of the run killed before it: one is left, as big as the file.
    stray = [name for name in os.listdir(mail_dir) if name != "sendmail.mc"]
    assert len(stray) == 1 and (mail_dir / stray[0]).stat().st_size > len(original) and mc.read_bytes() == original
    for delay in (1.0, 1.5, 2.0, 2.5, 3.0):  # and real runs, killed wherever they are
        process = subprocess.Popen(module_command("sendmail_mc", dict(path=str(mc), exposed_user=f"u{int(delay * 10)}")),
                                   env=module_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    result = run_module(path=str(mc), **TASK)
    assert result["changed"], result
    assert os.listdir(mail_dir) == ["sendmail.mc"]
    assert f"O DaemonPortOptions=Family=inet6, Name=MTA-v6, Port=smtp, Addr={IPV6}" in build_cf(mc).splitlines()
