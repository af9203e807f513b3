# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The raw probe that tells an EL8 host without python3.11 from every other host.

The probe runs before any module, with nothing but /bin/sh, so it is run here as
the roles send it: the shell script taken from the task file, with the
os-release of each distribution (written from the distributions' published
files) mounted over /etc/os-release in a private mount namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "roles" / "mta_common" / "tasks" / "el8_python.yml"
PYTHON311 = Path("/usr/bin/python3.11")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount namespace"),
    pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare (util-linux)"),
]

# ID, ID_LIKE and VERSION_ID as each distribution's /etc/os-release has them.
OS_RELEASE = {
    "rhel-8.9": ("rhel", "fedora", "8.9", "el8"),
    "centos-stream-8": ("centos", "rhel fedora", "8", "el8"),
    "rocky-8.9": ("rocky", "rhel centos fedora", "8.9", "el8"),
    "almalinux-8.9": ("almalinux", "rhel centos fedora", "8.9", "el8"),
    "oracle-8.9": ("ol", "fedora", "8.9", "el8"),
    "rocky-9.3": ("rocky", "rhel centos fedora", "9.3", "other"),
    "centos-stream-9": ("centos", "rhel fedora", "9", "other"),
    "fedora-39": ("fedora", "", "39", "other"),
    "debian-12": ("debian", "", "12", "other"),
}


def probe_script():
    tasks = yaml.safe_load(TASKS.read_text(encoding="utf-8"))
    return next(task["ansible.builtin.raw"] for task in tasks if task["name"].startswith("Look for python3.11"))


def run_probe(tmp_path, name, python_present):
    distro_id, id_like, version_id, _expected = OS_RELEASE[name]
    release = tmp_path / ("os-release-" + name)
    release.write_text('ID="{}"\n{}VERSION_ID="{}"\n'.format(
        distro_id, f'ID_LIKE="{id_like}"\n' if id_like else "", version_id), encoding="utf-8")
    # /dev/null is not executable: mounted over python3.11 it makes the interpreter "absent".
    hide = "" if python_present else f"mount --bind /dev/null {PYTHON311} && "
    script = f"mount --bind {release} /etc/os-release && {hide}{probe_script()}"
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(not PYTHON311.exists(), reason="needs a file at /usr/bin/python3.11 to hide")
@pytest.mark.parametrize("name", sorted(OS_RELEASE))
def test_probe_names_el8_hosts_without_python311(tmp_path, name):
    expected = OS_RELEASE[name][3]
    assert run_probe(tmp_path, name, python_present=False) == ("missing" if expected == "el8" else "other")


@pytest.mark.skipif(not PYTHON311.exists(), reason="needs /usr/bin/python3.11")
@pytest.mark.parametrize("name", ["rocky-8.9", "oracle-8.9"])
def test_probe_leaves_el8_hosts_with_python311_alone(tmp_path, name):
    assert run_probe(tmp_path, name, python_present=True) == "present"
