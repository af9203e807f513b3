# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What people and package tools leave beside sendmail.mc, submit.mc, sendmail.cf and main.cf
survives every run of the modules that edit them: check mode, a refusal, a change and a no-op.

Each module gets one directory holding the files it edits and, beside each, the copies that
editors, etckeeper, dpkg, ucf, rpm and people leave, hidden and visible, dated and numbered, a
name that looks like one of our temp files but whose pid is alive (this test's), and the temp
file a killed run left (made by the collection's own ``_temp_file`` in a process that is then
killed). One ansible-playbook per module runs the steps in that order, with the directory's
listing (inode, mtime, checksum) taken after each: the change is the run after the killed one,
so it removes that temp file, and nothing else is removed, replaced or touched at any step.

The sendmail modules run with the real m4 and ``sendmail -bC`` in the conftest network
namespace; postconf runs in the conftest postfix root through ansible's chroot connection.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ANSIBLE, DEBIAN_MC, IPV4, IPV6, REPO, REQUIRES_POSTFIX_ROOT, REQUIRES_SENDMAIL, build_cf, in_netns

COLLECTIONS = REPO / ".cache" / "collections"
DEBIAN_SUBMIT_MC = DEBIAN_MC.with_name("submit.mc")
OLD = 1704067200  # 2024-01-01 00:00:00 UTC: the mtime every kept file gets

# Names beside a file ({}) that are not ours: editors', etckeeper's, dpkg's, ucf's, rpm's, people's.
KEPT = (
    ".{}.20240101", ".{}.2024-01-01", ".{}.1", "{}.20240101", "{}.2024-01-01", "{}.1", "{}.2",
    "{}~", ".{}~", "#{}#", "{}.orig", "{}.bak", "{}.old", "{}.save", "{}.tmp",
    "{}.dpkg-old", "{}.dpkg-dist", "{}.dpkg-new", "{}.dpkg-bak", "{}.ucf-old", "{}.ucf-dist", "{}.ucf-new",
    "{}.rpmnew", "{}.rpmsave", "{}.rpmorig",
    ".{}.original", ".{}.previous", ".{}.tmpfile1", ".{}.abcdefgh", ".{}.abcdefgh.tmp", ".{}.12345678",
    ".{}.swp", ".{}.swo",
)

# Steps in the order they run; the change is the run after a killed run.
STEPS = ("check-mode", "refusal", "change-after-a-killed-run", "no-op")


class Case:
    """A module, the files it edits (``writes``, beside the others in ``files``), a change and bad input."""

    def __init__(self, module, writes, change, bad, refused, files=("sendmail.mc", "submit.mc", "sendmail.cf")):
        self.module, self.writes, self.change, self.bad, self.files = module, writes, change, bad, files
        self.refused = refused  # what the refusal says


CASES = {
    "sendmail_daemon": Case("sendmail_daemon", ("sendmail.mc",),
                            dict(path="sendmail.mc", name="MTA-v6", family="inet6", addr=IPV6, port="smtp"),
                            dict(path="sendmail.mc", name="MTA-v6", family="inet6", addr=IPV4, port="smtp"),
                            "is an IPv4 address but the entry has Family=inet6"),
    "sendmail_client": Case("sendmail_client", ("sendmail.cf",),
                            dict(path="sendmail.cf", name="OUT-v6", family="inet6", addr=IPV6),
                            dict(path="sendmail.cf", name="OUT-v6", family="inet", addr=IPV6),
                            "is an IPv6 address but the entry has Family=inet"),
    "sendmail_mc": Case("sendmail_mc", ("submit.mc",),
                        dict(path="submit.mc", feature="nocanonify"),
                        dict(path="submit.mc", define="conf LOG", value="15"),
                        "define name 'conf LOG' is not valid"),
    "sendmail_config": Case("sendmail_config", ("sendmail.mc", "sendmail.cf"),
                            dict(path="sendmail.mc", cf_path="sendmail.cf",
                                 daemons=[dict(name="MTA-v6", family="inet6", addr=IPV6, port="smtp")]),
                            dict(path="sendmail.mc", cf_path="sendmail.cf",
                                 daemons=[dict(name="MTA-v6", family="inet6", addr=IPV4, port="smtp")]),
                            "is an IPv4 address but the entry has Family=inet6"),
    "postconf": Case("postconf", ("main.cf",), dict(name="inet_protocols", value="ipv4"),
                     dict(name="inet_protocols", value="ipv4\n"), "control character", files=("main.cf",)),
}

MODULES = [pytest.param(name, marks=REQUIRES_POSTFIX_ROOT if name == "postconf" else REQUIRES_SENDMAIL)
           for name in CASES]

KILLED_RUN = r"""
import os, signal, sys
from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import _temp_file
fd, path = _temp_file(sys.argv[1], sys.argv[2])
os.write(fd, b'the first part of a new file\n')
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # killed before the rename: the temp file stays
"""


def killed_run(directory, name):
    """The temp file a run killed while writing ``name`` leaves: our own name, a dead pid."""
    done = subprocess.run([sys.executable, "-c", KILLED_RUN, str(directory), name], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(COLLECTIONS)), timeout=60, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    return Path(done.stdout.strip()).name


def dead_pid():
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def place_kept(directory, files):
    """The files that are not ours beside each of ``files``; returns their names."""
    kept = []
    dead = dead_pid()
    for target in files:
        for template in KEPT:
            name = template.format(target)
            (directory / name).write_text(f"{name}: an admin's copy\n")
            kept.append(name)
        live = f".{target}.{os.getpid()}.abcd1234.dualstack.tmp"  # our form, but its writer runs
        (directory / live).write_text("being written\n")
        # Our form with a dead pid, but a link: only a regular file can be our temp file.
        link = f".{target}.{dead}.symlink1.dualstack.tmp"
        os.symlink(target + ".orig", directory / link)
        emacs_lock = f".#{target}"  # a dangling link
        os.symlink("root@mx.example.test.4242:1704067200", directory / emacs_lock)
        kept += [live, link, emacs_lock]
    for name in kept:
        os.utime(directory / name, (OLD, OLD), follow_symlinks=False)
    return kept


def content(path):
    return os.readlink(path) if path.is_symlink() else path.read_bytes()


def run_playbook(case, directory, host, command_prefix, connection, interpreter, workdir):
    """The steps in one ansible-playbook; the results and the listings before and after each.

    ``directory`` is the path on the managed host (for a chroot, inside it).
    """
    def args(values):
        return {key: str(directory / value) if key in ("path", "cf_path") else value for key, value in values.items()}

    listing = dict(name="listing", **{"ansible.builtin.find": dict(
        paths=str(directory), hidden=True, file_type="any", get_checksum=True, follow=False)})
    module = "dualstack.mta." + case.module
    steps = {
        "check-mode": dict(check_mode=True, **{module: args(case.change)}),
        "refusal": dict(ignore_errors=True, **{module: args(case.bad)}),
        "change-after-a-killed-run": {module: args(case.change)},
        "no-op": {module: args(case.change)},
    }
    tasks = [listing]
    for step in STEPS:
        tasks += [dict(name=step, **steps[step]), listing]
    playbook = workdir / "playbook.json"
    playbook.write_text(json.dumps([dict(hosts="all", gather_facts=False, tasks=tasks)]))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", LC_ALL="C.UTF-8")
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS))
    command = command_prefix + [str(Path(ANSIBLE).with_name("ansible-playbook")), "-i", f"{host},",
                                "-c", connection, "-e", "ansible_python_interpreter=" + interpreter, str(playbook)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)
    try:
        results = [task["hosts"][host] for task in json.loads(done.stdout)["plays"][0]["tasks"]]
    except (ValueError, KeyError, IndexError):
        pytest.fail(f"no playbook result (rc={done.returncode}):\n{done.stdout}\n{done.stderr}")
    assert len(results) == len(tasks), results

    def files(result):
        return {Path(entry["path"]).name: (entry["inode"], entry["mtime"], entry["size"], entry.get("checksum"))
                for entry in result["files"]}

    return dict(before=files(results[0]),
                steps={step: (results[1 + 2 * index], files(results[2 + 2 * index]))
                       for index, step in enumerate(STEPS)})


def sendmail_directory(directory):
    directory.mkdir()
    shutil.copyfile(DEBIAN_MC, directory / "sendmail.mc")
    shutil.copyfile(DEBIAN_SUBMIT_MC, directory / "submit.mc")
    build_cf(directory / "sendmail.mc")


@pytest.fixture(scope="module")
def runs():
    return {}


@pytest.fixture
def run(request, runs, tmp_path_factory):
    """The playbook of a case, run once; every step's test reads its result."""
    def of(name):
        if name not in runs:
            case = CASES[name]
            workdir = tmp_path_factory.mktemp(name)
            if name == "postconf":
                root = request.getfixturevalue("postfix_root")
                directory, remote = root / "etc" / "postfix", Path("/etc/postfix")
                host, connection, interpreter = str(root), "community.general.chroot", "/usr/bin/python3"
                prefix = ["ip", "netns", "exec", request.getfixturevalue("netns")]
            else:
                directory = workdir / "mail"
                sendmail_directory(directory)
                remote = directory
                host, connection, interpreter = "localhost", "local", sys.executable
                prefix = in_netns(request.getfixturevalue("netns"), [])
            kept = place_kept(directory, case.files)
            saved = {name: content(directory / name) for name in kept}
            leftovers = [killed_run(directory, target) for target in case.writes]
            result = run_playbook(case, remote, host, prefix, connection, interpreter, workdir)
            now = {name: (content(directory / name), os.lstat(directory / name).st_mtime_ns)
                   for name in kept if os.path.lexists(directory / name)}
            runs[name] = dict(result, case=case, kept=kept, saved=saved, leftovers=leftovers, now=now)
        return runs[name]

    return of


def touched(outcome, listing):
    """The files not ours that a step removed or changed (inode, mtime, size or checksum)."""
    before = outcome["before"]
    return sorted(name for name in outcome["kept"] if listing.get(name) != before[name])


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("module", MODULES)
def test_files_that_are_not_ours_survive(run, module, step):
    outcome = run(module)
    case, before = outcome["case"], outcome["before"]
    result, listing = outcome["steps"][step]
    assert touched(outcome, listing) == []
    leftovers = set(outcome["leftovers"])
    assert leftovers <= set(before)
    written = set(case.writes)
    if step in ("check-mode", "refusal"):
        assert result.get("failed", False) == (step == "refusal"), result
        assert result["changed"] == (step == "check-mode"), result
        assert step == "check-mode" or case.refused in result["msg"], result
        assert listing == before  # nothing written: nothing touched, the killed run's temp file too
    elif step == "change-after-a-killed-run":
        assert result["changed"] and not result.get("failed"), result
        assert set(listing) == set(before) - leftovers  # the killed run's temp file, and nothing else
        assert {name for name in listing if listing[name] != before[name]} == written
    else:
        assert not result["changed"] and not result.get("failed"), result
        assert listing == outcome["steps"]["change-after-a-killed-run"][1]


@pytest.mark.parametrize("module", MODULES)
def test_files_that_are_not_ours_are_byte_identical_with_their_mtime_afterwards(run, module):
    outcome = run(module)
    assert sorted(outcome["now"]) == sorted(outcome["kept"])
    changed = [name for name, (data, mtime) in outcome["now"].items()
               if data != outcome["saved"][name] or mtime != OLD * 10 ** 9]
    assert changed == []
