# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The built collection declares what its roles need: a clean install into an empty path runs a role task.

No Galaxy server is reached: the community.general the test venv carries is packed as an artifact
of its own, and ansible-galaxy resolves the declared dependency offline from the two artifacts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import ansible_collections.community.general as community_general

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*args, cwd=None, env=None):
    done = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, "{}\n{}\n{}".format(" ".join(map(str, args)), done.stdout, done.stderr)
    return done.stdout


def pack_installed_collection(source: Path, target: Path) -> Path:
    """An artifact: MANIFEST.json, FILES.json and the files FILES.json lists (as installed)."""
    manifest = json.loads((source / "MANIFEST.json").read_text())
    files = json.loads((source / "FILES.json").read_text())
    # An installed copy may lack files its FILES.json lists (CI configuration, tests): list only what is there.
    files["files"] = [entry for entry in files["files"] if entry["name"] == "." or (source / entry["name"]).exists()]
    files_json = json.dumps(files).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    info = manifest["collection_info"]
    artifact = target / ("{}-{}-{}.tar.gz".format(info["namespace"], info["name"], info["version"]))
    with tarfile.open(artifact, "w:gz") as tar:
        for name, data in (("MANIFEST.json", json.dumps(manifest).encode()), ("FILES.json", files_json)):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        for entry in files["files"]:
            if entry["name"] != ".":
                tar.add(source / entry["name"], arcname=entry["name"], recursive=False)
    return artifact


def test_the_built_artifact_installs_with_its_dependency_and_runs_a_role_task(tmp_path):
    run(BIN / "ansible-galaxy", "collection", "build", "--output-path", tmp_path, REPO)
    ours = next(tmp_path.glob("dualstack-mta-*.tar.gz"))
    general = pack_installed_collection(Path(community_general.__path__[0]), tmp_path)
    installed = tmp_path / "installed"
    # Only the empty path counts: not the test run's own collections, nor those beside ansible.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("ANSIBLE_", "PYTHONPATH"))}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", LC_ALL="C.UTF-8")
    run(BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", installed, ours, general, env=env)
    assert (installed / "ansible_collections" / "community" / "general" / "MANIFEST.json").exists()

    # Selecting the MTA uses community.general.alternatives: loading the task file fails when the
    # dependency is missing ("couldn't resolve module/action"). In check mode on a machine without an
    # mta alternative the task is loaded and skipped; the next task, stopping the other MTA, needs
    # systemd, which this controller lacks.
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: dualstack.mta.mta_common\n"
        "        tasks_from: select_mta.yml\n"
        "      vars:\n"
        "        mta_common_mta: none\n"
        "        mta_common_binary: /bin/true\n"
        "        mta_common_other_service: dualstack-no-such-mta\n")
    done = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", "--check",
                           "-e", "ansible_python_interpreter=" + sys.executable, str(playbook)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    out = done.stdout + done.stderr
    assert "couldn't resolve" not in out, out
    assert "TASK [dualstack.mta.mta_common : Select the system's MTA, none]" in out, out
    assert "TASK [dualstack.mta.mta_common : Stop the other MTA" in out, out
