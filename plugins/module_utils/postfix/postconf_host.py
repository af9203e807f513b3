# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The postconf module's work on the host: read, try on a copy, apply, check, restore."""

from __future__ import annotations

import os
import pty
import shutil
import stat
import subprocess
import tempfile
import typing as t

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

C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class Failure(Exception):
    """Stop the task: msg for the user, details (rc, stdout, stderr, ...) for the result."""

    def __init__(self, msg: str, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class MainCf:
    """main.cf as it was before the task: its bytes, mode and owner, to keep or restore."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path, "rb") as handle:
                self.data = handle.read()
            info = os.stat(path)
        except OSError as err:
            raise Failure("cannot read %s: %s" % (path, err))
        self.mode = stat.S_IMODE(info.st_mode)
        self.owner = (info.st_uid, info.st_gid)

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "surrogateescape")

    def keep_attributes(self) -> None:
        """postconf -e writes a new file with mode 0644: put the admin's mode and owner back."""
        info = os.stat(self.path)
        if (info.st_uid, info.st_gid) != self.owner:
            os.chown(self.path, *self.owner)
        if stat.S_IMODE(info.st_mode) != self.mode:
            os.chmod(self.path, self.mode)

    def restore(self, module: t.Any) -> None:
        """Put the original bytes back: temp file beside it, fsync, rename."""
        fd, temp = tempfile.mkstemp(prefix=".main.cf.", dir=os.path.dirname(self.path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.data)
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(temp, self.path)
        self.keep_attributes()


class Postfix:
    """postconf and postfix for one instance (config_dir None: the default one)."""

    def __init__(self, module: t.Any, config_dir: str | None) -> None:
        self.module = module
        self.config_dir = config_dir
        self.postconf = module.get_bin_path("postconf", required=True)

    def run(self, *args: str, directory: str | None = None) -> tuple[int, str, str]:
        directory = directory or self.config_dir
        argv = [self.postconf] + (["-c", directory] if directory else []) + list(args)
        return self.module.run_command(argv, environ_update=C_LOCALE)

    def must(self, *args: str, directory: str | None = None) -> tuple[str, str]:
        rc, out, err = self.run(*args, directory=directory)
        if rc != 0:
            raise Failure("postconf %s failed: %s" % (" ".join(args), err.strip()), rc=rc, stdout=out, stderr=err)
        return out, err

    def directory(self) -> str:
        return self.config_dir or self.must("-h", "config_directory")[0].strip()

    def effective(self, names: t.Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """Values as postconf reports them (main.cf or default); unknown names are left out."""
        out, err = self.must(*names)
        return parse_postconf(out), warning_lines(err)

    def master(self) -> str:
        rc, out, _err = self.run("-M")
        return out if rc == 0 else ""

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

    def apply(self, changes: Plan, directory: str | None = None) -> list[str]:
        messages = []
        if changes.edits:
            messages += self.must("-e", *changes.edits, directory=directory)[1].splitlines()
        if changes.removals:
            messages += self.must("-X", *changes.removals, directory=directory)[1].splitlines()
        return messages

    def try_out(self, main_cf: MainCf, changes: Plan, directory: str) -> tuple[Probe, dict[str, str]]:
        """Apply the plan to a copy and ask postconf what master(8) would make of it.

        Returns the probe and the dual-stack parameters as they would be; main.cf is untouched.
        """
        copy = tempfile.mkdtemp(prefix="postconf-")
        try:
            with open(os.path.join(copy, "main.cf"), "wb") as handle:
                handle.write(main_cf.data)
            master_cf = os.path.join(directory, "master.cf")
            if os.path.exists(master_cf):  # postconf reads service parameters from it
                shutil.copyfile(master_cf, os.path.join(copy, "master.cf"))
            messages = self.apply(changes, directory=copy)
            out, err = self.must(*DUAL_STACK_PARAMETERS, directory=copy)
            result = parse_postconf(out)
            # With mynetworks unset, postconf derives it from inet_interfaces and inet_protocols:
            # the same interface lookup master(8) makes at start, fatal errors included.
            self.must("-X", "mynetworks", directory=copy)
            self.must("-e", "mynetworks_style=host", directory=copy)
            rc, out, probe_err = self.run("-h", "mynetworks", directory=copy)
            shown = warning_lines("\n".join(messages + [err, probe_err]), {copy: directory})
            return Probe.parse(rc, out, shown), result
        finally:
            shutil.rmtree(copy, ignore_errors=True)


def _prepare(
    host: Postfix, main_cf: MainCf, wanted: t.Mapping[str, str | None], directory: str
) -> tuple[Plan, Probe | None, dict[str, str], list[str]]:
    effective, warnings = host.effective(wanted)
    changes = plan(wanted, effective, parse_main_cf(main_cf.text))
    if not any(c.name in DUAL_STACK_PARAMETERS for c in changes.changes):
        return changes, None, {}, warnings  # the address families stay as they are
    probe, result = host.try_out(main_cf, changes, directory)
    return changes, probe, result, warnings + list(probe.messages)


def _refuse(
    module: t.Any, host: Postfix, main_cf: MainCf, wanted: t.Mapping[str, str | None], directory: str
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
            "inet_protocols %s asks for IPv6, but %s. Enable IPv6 on the host, set inet_protocols to "
            "ipv4, or set ipv6_fallback=true to fall back to IPv4." % (result.get("inet_protocols"), missing),
            postconf_warnings=warnings,
        )
    if missing:
        module.warn("IPv6 is not available, inet_protocols falls back to ipv4: %s" % missing)
        changes, warnings, _fallback = _refuse(module, host, main_cf, with_ipv4_fallback(wanted), directory)
        return changes, warnings, True
    if probe.fatal:
        raise Failure("postfix would not start with these settings: %s" % probe.fatal, postconf_warnings=warnings)
    return changes, warnings, False


def run(module: t.Any, wanted: t.Mapping[str, str | None]) -> dict[str, t.Any]:
    """The whole task: plan, refuse what postfix would not run with, apply, check, report."""
    host = Postfix(module, module.params["config_dir"])
    directory = host.directory()
    main_cf = MainCf(os.path.join(directory, "main.cf"))
    changes, warnings, fallback = _refuse(module, host, main_cf, wanted, directory)

    if changes.changed and not module.check_mode:
        try:
            host.apply(changes)
        except Failure:
            main_cf.restore(module)
            raise
        main_cf.keep_attributes()
        rc, out = host.check()
        if rc != 0:
            main_cf.restore(module)
            raise Failure(
                "postfix check failed, %s is restored: %s" % (main_cf.path, out.strip()), rc=rc, stdout=out
            )
        warnings += warning_lines(out)

    if set(wanted) & RESTART_PARAMETERS:
        for service in pinned_smtp_services(host.master()):
            module.warn("master.cf service %s listens on its own address, whatever inet_interfaces says" % service)
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
    if module._diff:
        report["diff"] = changes.diff(main_cf.path)
    return report
