# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The postconf module's work on the host: read, try on a copy, write, check, restore.

postconf edits a copy of main.cf; the result replaces main.cf through the collection's one
file writer (_safe_file.replace_file), under the collection's lock: a symlinked main.cf
stays a link and its target changes (``postconf -e`` itself would turn the link into a file),
owner, mode and SELinux context are kept, no temp file is left behind, and a failure names
the file and the cause.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import shutil
import subprocess
import tempfile
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import (
    FileError,
    decode,
    describe,
    locked,
    replace_file,
)
from ansible_collections.dualstack.mta.plugins.module_utils.postfix.postconf import (
    DUAL_STACK_PARAMETERS,
    RESTART_PARAMETERS,
    Plan,
    Probe,
    inconsistencies,
    ipv6_missing,
    parse_main_cf,
    parse_postconf,
    pinned_smtp_services,
    plan,
    warning_lines,
    with_ipv4_fallback,
)

if t.TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class Failure(Exception):
    """Stop the task: msg for the user, details (rc, stdout, stderr, ...) for the result."""

    def __init__(self, msg: str, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class MainCf:
    """main.cf as it was before the task: its bytes, to compare with and to restore."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as handle:
                self.data = handle.read()
        except OSError as err:
            raise Failure(f"{path}: could not read the file: {describe(err)}")

    @property
    def text(self) -> str:
        """The bytes as text; bytes that are not UTF-8 survive a write back unchanged."""
        return decode(self.data)


# postconf cannot read a main.cf that names an address no interface has; postfix would not
# start with it either (EL's stock inet_interfaces = localhost on a host without IPv6).
_UNREADABLE = re.compile(r"fatal: .*no local interface found for \S+")


class Postfix:
    """postconf and postfix for one instance (config_dir None: the default one)."""

    def __init__(self, module: AnsibleModule, config_dir: str | None) -> None:
        self.module = module
        self.config_dir = config_dir
        self.postconf = module.get_bin_path("postconf", required=True)
        # Directories whose main.cf postconf can read only with an override, and why.
        self.unreadable: dict[str | None, str] = {}

    def run(self, *args: str, directory: str | None = None) -> tuple[int, str, str]:
        """Run postconf with ``args`` on ``directory`` (default: the instance's); rc, stdout and stderr."""
        directory = directory or self.config_dir
        argv = [self.postconf] + (["-c", directory] if directory else []) + list(args)
        return self.module.run_command(argv, environ_update=C_LOCALE)

    def must(self, *args: str, directory: str | None = None) -> tuple[str, str]:
        """Run postconf as ``run`` does; stdout and stderr, or Failure when it fails."""
        rc, out, err = self.run(*args, directory=directory)
        if rc != 0:
            raise Failure("postconf {} failed: {}".format(" ".join(args), err.strip()), rc=rc, stdout=out, stderr=err)
        return out, err

    def read(self, *args: str, directory: str | None = None) -> tuple[str, str, str | None]:
        """postconf's answer, also where main.cf asks for an address no interface has.

        Then postconf fails on every read; it is asked again with inet_protocols=ipv4 for this
        one command, so the task can still see the settings and change them. Returns stdout,
        stderr and the fatal message that forced the override (None when none did).
        """
        known = self.unreadable.get(directory)
        if known is None:  # postconf takes seconds to fail: ask it once per directory
            rc, out, err = self.run(*args, directory=directory)
            if rc == 0:
                return out, err, None
            unreadable = _UNREADABLE.search(err)
            if not unreadable:
                raise Failure("postconf {} failed: {}".format(" ".join(args), err.strip()), rc=rc, stdout=out, stderr=err)
            known = self.unreadable[directory] = unreadable.group(0)
        out, err = self.must("-o", "inet_protocols=ipv4", *args, directory=directory)
        return out, err, known

    def directory(self) -> str:
        """The configuration directory: the one given, else the one postconf reports."""
        return self.config_dir or self.read("-h", "config_directory")[0].strip()

    def effective(
        self, names: t.Iterable[str], directory: str | None = None
    ) -> tuple[dict[str, str], list[str], str | None]:
        """Values as postconf reports them (main.cf or default); unknown names are left out.

        Also the warnings, and postconf's fatal message when main.cf could only be read around it.
        """
        names = list(names)
        out, err, unreadable = self.read(*names, directory=directory)
        values = parse_postconf(out)
        warnings = warning_lines(err)
        if unreadable:
            if "inet_protocols" in names:  # the one value the override hid
                values.update(parse_postconf(self.must("-o", "inet_interfaces=all", "inet_protocols",
                                                       directory=directory)[0]))
            warnings.append(
                f"postconf cannot read main.cf as it is ({unreadable}): postfix would not start with it; "
                "its values were read with inet_protocols=ipv4 in place"
            )
        return values, warnings, unreadable

    def master(self) -> str:
        """master.cf's services as postconf -M prints them; empty when postconf cannot read them."""
        try:
            return self.read("-M")[0]
        except Failure:
            return ""

    def check(self) -> tuple[int, str]:
        """postfix check, with its messages: postfix writes them to stderr only when that is a
        terminal (otherwise only to syslog), so it gets one."""
        postfix = self.module.get_bin_path("postfix", required=True)
        argv = [postfix] + (["-c", self.config_dir] if self.config_dir else []) + ["check"]
        primary, secondary = pty.openpty()
        try:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary, env=dict(os.environ, **C_LOCALE)
            )
        finally:
            os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the last writer has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(primary)
        output = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
        return process.wait(), output

    def apply(self, changes: Plan, directory: str) -> list[str]:
        """Run postconf -e and -X on the main.cf in ``directory`` (a copy); its messages."""
        messages = []
        if changes.edits:
            messages += self.must("-e", *changes.edits, directory=directory)[1].splitlines()
        if changes.removals:
            messages += self.must("-X", *changes.removals, directory=directory)[1].splitlines()
        return messages

    def copy(self, main_cf: MainCf, directory: str) -> str:
        """A temporary configuration directory holding main.cf (and master.cf) as they are."""
        copy = tempfile.mkdtemp(prefix="postconf-", dir=self.module.tmpdir)
        try:
            with open(os.path.join(copy, "main.cf"), "wb") as handle:
                handle.write(main_cf.data)
            master_cf = os.path.join(directory, "master.cf")
            if os.path.exists(master_cf):  # postconf reads service parameters from it
                shutil.copyfile(master_cf, os.path.join(copy, "master.cf"))
        except OSError as err:
            shutil.rmtree(copy, ignore_errors=True)
            raise Failure(f"could not copy {main_cf.path} to {copy} to try the change there: {describe(err)}")
        return copy

    def edited(self, main_cf: MainCf, changes: Plan, directory: str) -> bytes:
        """main.cf as postconf writes it with the plan applied, made on a copy."""
        copy = self.copy(main_cf, directory)
        try:
            try:
                self.apply(changes, copy)
            except Failure as failure:
                raise Failure(
                    f"{main_cf.path} is unchanged: postconf failed on a copy of it in {copy}: {failure.msg}",
                    **failure.details
                )
            with open(os.path.join(copy, "main.cf"), "rb") as handle:
                return handle.read()
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    def try_out(self, main_cf: MainCf, changes: Plan, directory: str) -> tuple[Probe, dict[str, str]]:
        """Apply the plan to a copy and ask postconf what master(8) would make of it.

        Returns the probe and the dual-stack parameters as they would be; main.cf is untouched.
        """
        copy = self.copy(main_cf, directory)
        try:
            messages = self.apply(changes, copy)
            if self.config_dir in self.unreadable:
                # Read the copy around the same failure at once; the probe below tells whether
                # the change removed it.
                self.unreadable[copy] = self.unreadable[self.config_dir]
            result, read_warnings, unreadable = self.effective(DUAL_STACK_PARAMETERS, directory=copy)
            if unreadable:  # the probe below meets the same fatal error and explains it
                read_warnings = read_warnings[:-1]
            # With mynetworks unset, postconf derives it from inet_interfaces and inet_protocols:
            # the same interface lookup master(8) makes at start, fatal errors included.
            self.must("-X", "mynetworks", directory=copy)
            self.must("-e", "mynetworks_style=host", directory=copy)
            rc, out, probe_err = self.run("-h", "mynetworks", directory=copy)
            shown = warning_lines("\n".join(messages + read_warnings + [probe_err]), {copy: directory})
            return Probe.parse(rc, out, shown), result
        finally:
            shutil.rmtree(copy, ignore_errors=True)


def _prepare(
    host: Postfix, main_cf: MainCf, wanted: t.Mapping[str, str | None], directory: str
) -> tuple[Plan, Probe | None, dict[str, str], list[str]]:
    effective, warnings, unreadable = host.effective(wanted)
    changes = plan(wanted, effective, parse_main_cf(main_cf.text))
    asked = set(wanted) & set(DUAL_STACK_PARAMETERS)
    if not any(c.name in DUAL_STACK_PARAMETERS for c in changes.changes) and not (unreadable and asked):
        # The address families stay as they are (and postfix can run with them).
        return changes, None, {}, warnings
    probe, result = host.try_out(main_cf, changes, directory)
    return changes, probe, result, warnings + list(probe.messages)


def _refuse(
    module: AnsibleModule, host: Postfix, main_cf: MainCf, wanted: t.Mapping[str, str | None], directory: str
) -> tuple[Plan, list[str], bool]:
    """The plan postfix can run with, or Failure; falls back to IPv4 when the task allows it."""
    changes, probe, result, warnings = _prepare(host, main_cf, wanted, directory)
    if probe is None:
        return changes, warnings, False
    problems = inconsistencies(result)
    if problems:
        raise Failure("; ".join(problems))
    missing = ipv6_missing(probe, result)
    if missing and not module.params["ipv6_fallback"]:
        raise Failure(
            "inet_protocols {} asks for IPv6, but {}. Enable IPv6 on the host, set inet_protocols to "
            "ipv4, or set ipv6_fallback=true to fall back to IPv4.".format(result.get("inet_protocols"), missing),
            postconf_warnings=warnings,
        )
    if missing:
        module.warn(f"IPv6 is not available, inet_protocols falls back to ipv4: {missing}")
        changes, warnings, _fallback = _refuse(module, host, main_cf, with_ipv4_fallback(wanted), directory)
        return changes, warnings, True
    if probe.fatal:
        raise Failure(f"postfix would not start with these settings: {probe.fatal}", postconf_warnings=warnings)
    return changes, warnings, False


def _write(module: AnsibleModule, host: Postfix, main_cf: MainCf, changes: Plan, directory: str) -> list[str]:
    """Replace main.cf with the edited copy, run postfix check, put the old one back if it fails."""
    data = host.edited(main_cf, changes, directory)
    try:
        replace_file(module, main_cf.path, decode(data))
    except FileError as error:
        raise Failure(f"{error}; main.cf is unchanged")
    rc, out = host.check()
    if rc != 0:
        cause = f"postfix check failed after {main_cf.path} was changed: {out.strip()}"
        try:
            replace_file(module, main_cf.path, main_cf.text)
        except FileError as error:
            raise Failure(f"{cause}; putting the previous main.cf back failed too: {error}", rc=rc, stdout=out)
        raise Failure(f"{cause}; the previous main.cf is back in place", rc=rc, stdout=out)
    return warning_lines(out)


def run(module: AnsibleModule, wanted: t.Mapping[str, str | None]) -> dict[str, t.Any]:
    """The whole task: plan, refuse what postfix would not run with, apply, check, report."""
    host = Postfix(module, module.params["config_dir"])
    directory = host.directory()
    path = os.path.join(directory, "main.cf")
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(locked(path))  # other runs of this module wait here
        except OSError as error:
            raise Failure(f"{path}: could not open the file to lock it: {describe(error)}")
        main_cf = MainCf(path)
        changes, warnings, fallback = _refuse(module, host, main_cf, wanted, directory)
        backup_file = None
        if changes.changed and not module.check_mode:
            if module.params.get("backup"):
                backup_file = module.backup_local(path)
            warnings += _write(module, host, main_cf, changes, directory)

    if set(wanted) & RESTART_PARAMETERS:
        for service in pinned_smtp_services(host.master()):
            module.warn(f"master.cf service {service} listens on its own address, whatever inet_interfaces says")
    warnings = list(dict.fromkeys(warnings))  # the copy and the real file repeat some
    for line in warnings:
        module.warn(line)

    report = dict(
        changed=changes.changed,
        changes=[dict(name=c.name, before=c.before, after=c.after) for c in changes.changes],
        restart_required=changes.restart_required,
        reload_required=changes.reload_required,
        ipv6_fallback_applied=fallback,
        config_dir=directory,
        postconf_warnings=warnings,
    )
    if backup_file:
        report["backup_file"] = backup_file
    if module._diff:
        report["diff"] = changes.diff(main_cf.path)
    return report
