# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The postfix_service module's work on the host: read, edit a copy with postconf, write, check.

postconf -M, -F and -P edit master.cf in a copy of the configuration directory; the result
replaces master.cf through the collection's one file writer (_safe_file.replace_file), under
the collection's lock, with postconf's rules for symlinks, backups and restore on a failed
postfix check.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import (
    FileError,
    decode,
    describe,
    locked,
    replace_file,
)
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import warning_lines
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf_host import (
    Failure,
    MainCf,
    Postfix,
)
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.service import (
    Plan,
    Service,
    Wanted,
    parse_services,
    plan,
)

if t.TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule


def current(host: Postfix, key: str, directory: str | None = None) -> Service | None:
    """The service ``key`` (name/type) as master.cf has it now, or None when it is not there."""
    fields = host.must("-F", key, directory=directory)[0]
    parameters = host.must("-P", key, directory=directory)[0]
    return parse_services(fields, parameters).get(key)


def _lines(host: Postfix, key: str, directory: str | None = None) -> str:
    return host.must("-M", key, directory=directory)[0]


def edited(host: Postfix, main_cf: MainCf, changes: Plan, directory: str, key: str) -> tuple[bytes, str]:
    """master.cf as postconf writes it with the plan applied, made on a copy; and the service lines."""
    copy = host.copy(main_cf, directory)
    try:
        for command in changes.commands:
            try:
                host.must(*command, directory=copy)
            except Failure as failure:
                raise Failure(f"{directory}/master.cf is unchanged: postconf failed on a copy of it: {failure.msg}", **failure.details)
        with open(os.path.join(copy, "master.cf"), "rb") as handle:
            return handle.read(), _lines(host, key, copy)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def run(module: AnsibleModule, wanted: Wanted) -> dict[str, t.Any]:
    """The whole task: plan, edit a copy, write master.cf, check, and the module's result."""
    host = Postfix(module, module.params["config_dir"])
    directory = host.directory()
    path = os.path.join(directory, "master.cf")
    warnings: list[str] = []
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(locked(path))
        except OSError as error:
            raise Failure(f"{path}: could not open the file to lock it: {describe(error)}")
        master_cf = MainCf(path)
        limit = host.must("-h", "default_process_limit")[0].strip() or "100"
        before = current(host, wanted.key)
        before_lines = _lines(host, wanted.key)
        changes = plan(wanted, before, limit)
        after_lines = before_lines
        if changes.changed:
            data, after_lines = edited(host, MainCf(os.path.join(directory, "main.cf")), changes, directory, wanted.key)
            if not module.check_mode:
                try:
                    replace_file(module, path, decode(data))
                except FileError as error:
                    raise Failure(f"{error}; master.cf is unchanged")
                rc, out = host.check()
                if rc != 0:
                    cause = f"postfix check failed after {path} was changed: {out.strip()}"
                    try:
                        replace_file(module, path, master_cf.text)
                    except FileError as error:
                        raise Failure(f"{cause}; putting the previous master.cf back failed too: {error}",
                                      rc=rc, stdout=out)
                    raise Failure(f"{cause}; the previous master.cf is back in place", rc=rc, stdout=out)
                warnings += warning_lines(out)
    for line in dict.fromkeys(warnings):
        module.warn(line)
    report = dict(
        changed=changes.changed,
        changes=changes.changes,
        commands=[" ".join(c) for c in changes.commands],
        reload_required=changes.changed,
        config_dir=directory,
        postconf_warnings=list(dict.fromkeys(warnings)),
    )
    if module._diff:
        report["diff"] = dict(before_header=f"{path}: {wanted.key}", after_header=f"{path}: {wanted.key}",
                              before=before_lines, after=after_lines)
    return report
