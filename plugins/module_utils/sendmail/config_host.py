# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one flow every sendmail editing module follows.

Lock the file, read it, plan the change (pure), validate the candidate once,
back up, write atomically, report.  ``changed`` and the diff come from the
same comparison; check mode stops right before the backup and the write.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from typing import TYPE_CHECKING, Any, Callable

from ansible_collections.dualstack.mta.plugins.module_utils._safe_file import FileError, locked, read_text, replace_file
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.access import unmatched_ipv6_keys
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.check import (
    CheckResult,
    Runner,
    Tools,
    check_change,
    find_cf_dir,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.config_plan import (
    SETTING_KINDS,
    ConfigPlan,
    plan_config,
    port_changes,
    setting_step,
)
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_edit import ENTRY_STATES, PRESENT, Plan
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_model import CF, MC, Document
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.mc_ports import ensure_port_entry
from ansible_collections.dualstack.mta.plugins.module_utils.sendmail.port_options import RefusedChange

if TYPE_CHECKING:
    from ansible.module_utils.basic import AnsibleModule

DEFAULT_MC = "/etc/mail/sendmail.mc"
BINDV6ONLY = "/proc/sys/net/ipv6/bindv6only"

FILE_ARGUMENTS = dict(
    path=dict(type="path", default=DEFAULT_MC),
    backup=dict(type="bool", default=False),
    validate=dict(type="bool", default=True),
)

_STATE = dict(type="str", default=PRESENT, choices=list(ENTRY_STATES))

# One DAEMON_OPTIONS or CLIENT_OPTIONS entry, as sendmail_daemon and sendmail_client take it.
PORT_ENTRY_OPTIONS = dict(
    name=dict(type="str", required=True),
    state=_STATE,
    family=dict(type="str", choices=["inet", "inet6"]),
    addr=dict(type="str"),
    port=dict(type="str"),
    modifiers=dict(type="str"),
    options=dict(type="dict"),
)

PORT_ENTRY_ARGUMENTS = dict(
    PORT_ENTRY_OPTIONS,
    replaces=dict(type="list", elements="str", default=[]),
    **FILE_ARGUMENTS
)

# One FEATURE, define, undefine or masquerading setting, as sendmail_mc takes it.
MC_SETTING_OPTIONS = dict(
    feature=dict(type="str"),
    feature_args=dict(type="list", elements="str"),
    define=dict(type="str"),
    value=dict(type="str"),
    undefine=dict(type="str"),
    masquerade_as=dict(type="str"),
    masquerade_domain=dict(type="str"),
    exposed_user=dict(type="str"),
    state=_STATE,
)

MC_SETTING_CONSTRAINTS = dict(
    mutually_exclusive=[SETTING_KINDS],
    required_one_of=[SETTING_KINDS],
    required_by={"feature_args": "feature", "value": "define"},
)

MC_SETTING_ARGUMENTS = dict(MC_SETTING_OPTIONS, **FILE_ARGUMENTS)

CONFIG_ARGUMENTS = dict(
    listen=dict(type="raw"),
    daemons=dict(type="list", elements="dict", default=[], options=PORT_ENTRY_OPTIONS),
    clients=dict(type="list", elements="dict", default=[], options=PORT_ENTRY_OPTIONS),
    settings=dict(type="list", elements="dict", default=[], options=MC_SETTING_OPTIONS, **MC_SETTING_CONSTRAINTS),
    exclusive=dict(type="bool", default=False),
    bindv6only=dict(type="bool"),
    cf_path=dict(type="path"),
    **FILE_ARGUMENTS
)


def syntax_of(path: str) -> str:
    """CF for a path ending in .cf, else MC."""
    return CF if path.endswith(".cf") else MC


def read_bindv6only(path: str = BINDV6ONLY) -> bool | None:
    """The target's net.ipv6.bindv6only; None when IPv6 is off (the file is missing)."""
    try:
        with open(path) as handle:
            return handle.read().strip() == "1"
    except OSError:
        return None


def ipv6_for_planning(bindv6only: bool | None, addresses: list[str] | None) -> bool | None:
    """The bindv6only to plan with, None meaning no IPv6: also when the kernel has IPv6 but no
    interface has an IPv6 address, not even ::1 (net.ipv6.conf.all.disable_ipv6=1), since an
    inet6 daemon could then serve IPv4 only and ::1 could not be bound at all."""
    if bindv6only is not None and addresses is not None and not any(":" in address for address in addresses):
        return None
    return bindv6only


def host_addresses(module: AnsibleModule) -> list[str] | None:
    """The target's IP addresses (from ``ip -json addr``); None when they cannot be read."""
    ip = module.get_bin_path("ip")
    if ip is None:
        return None
    rc, out, _err = module.run_command([ip, "-json", "addr", "show"], environ_update={"LC_ALL": "C"})
    if rc != 0:
        return None
    try:
        return [info["local"] for link in json.loads(out) for info in link.get("addr_info", []) if "local" in info]
    except (ValueError, TypeError, KeyError):
        return None


def _command_runner(module: AnsibleModule) -> Runner:
    def run(args: list[str], cwd: str | None) -> tuple[int, str, str]:
        return module.run_command(args, cwd=cwd, environ_update={"LC_ALL": "C", "LANG": "C"})
    return run


def _tools(module: AnsibleModule) -> Tools:
    return Tools(
        m4=module.get_bin_path("m4"),
        sendmail=module.get_bin_path("sendmail", opt_dirs=["/usr/sbin", "/usr/lib"]),
        timeout=module.get_bin_path("timeout"),
        unshare=module.get_bin_path("unshare"),
        python=sys.executable,
        cf_dir=find_cf_dir(),
    )


def _write(module: AnsibleModule, path: str, text: str, result: dict[str, Any], backup_key: str) -> None:
    """Replace ``path`` (created empty, mode 0644, when missing) and note its backup in ``result``."""
    try:
        if not os.path.lexists(path):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        backup_file = replace_file(module, path, text, module.params["backup"])
    except (FileError, OSError) as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc(), **result)
    if backup_file:
        result[backup_key] = backup_file


def run_edit(module: AnsibleModule, make_plan: Callable[[Document], Plan | ConfigPlan],
             describe: Callable[[Any], dict[str, Any]], cf_path: str | None = None) -> None:
    """Apply ``make_plan`` to the file at ``path`` safely and exit the module.

    ``describe`` turns the plan into the module's own return values.  With ``cf_path`` the
    sendmail.cf built and checked from the new .mc is installed there too, after the .mc, so
    that it is newer than the .mc and no later make builds it again.
    """
    path = module.params["path"]
    syntax = _syntax_to_edit(module, path, cf_path)
    result = {"validated": False}
    with locked(path):
        plan = _plan(module, path, syntax, make_plan)
        check = _validate(module, plan, syntax, path)
        result["validated"] = check is not None
        if plan.changed and not module.check_mode:
            _write(module, path, plan.after, result, "backup_file")
            if cf_path:
                _write(module, cf_path, check.cf_text, result, "cf_backup_file")

    result.update(describe(plan))
    result.update(
        changed=plan.changed,
        rebuild_needed=plan.changed and syntax == MC and not cf_path,
        cf_installed=plan.changed and bool(cf_path),
    )
    if module._diff:
        result["diff"] = _diff(plan, path)
    module.exit_json(**result)


def _syntax_to_edit(module: AnsibleModule, path: str, cf_path: str | None) -> str:
    """MC or CF for ``path``; fails the module when it is not a regular file or ``cf_path`` cannot be served."""
    if not os.path.isfile(path):
        module.fail_json(msg=f"{path} does not exist or is not a regular file")
    syntax = syntax_of(path)
    if cf_path and (syntax != MC or not module.params["validate"]):
        module.fail_json(msg="cf_path needs a .mc as path and validate=true: the .cf installed is the "
                             "one built and checked from the new .mc")
    return syntax


def _plan(module: AnsibleModule, path: str, syntax: str,
          make_plan: Callable[[Document], Plan | ConfigPlan]) -> Plan | ConfigPlan:
    """The plan for the file as it is now (read under the lock); a refused change fails the module."""
    try:
        plan = make_plan(Document.parse(read_text(path), syntax))
    except RefusedChange as error:
        module.fail_json(msg=f"{path}: {error}")
    for warning in plan.warnings:
        module.warn(warning)
    return plan


def _validate(module: AnsibleModule, plan: Plan | ConfigPlan, syntax: str, path: str) -> CheckResult | None:
    """Check the changed file with m4 and sendmail -bC; None when there is nothing to check or validate=false."""
    if not (plan.changed and module.params["validate"]):
        return None
    workdir = tempfile.mkdtemp(prefix="sendmail-check-", dir=module.tmpdir)
    check = check_change(plan.before, plan.after, syntax, path, workdir, _command_runner(module),
                         _tools(module), plan.expected_cf_lines)
    if not check.ok:
        module.fail_json(msg=check.msg, rc=check.rc, stdout=check.stdout, stderr=check.stderr)
    for warning in check.warnings:
        module.warn(warning)
    return check


def _diff(plan: Plan | ConfigPlan, path: str) -> dict[str, str] | list[dict[str, str]]:
    """The diff to return; after a listening plan, its reasons come first."""
    diff = dict(before=plan.before, after=plan.after, before_header=path, after_header=path)
    reasons = getattr(plan, "reasons", ())
    if reasons:
        return [dict(prepared="Listening plan:\n" + "".join(f"- {reason}\n" for reason in reasons)), diff]
    return diff


def _describe_one(plan: Plan) -> dict[str, Any]:
    return dict(entry=plan.entry, entries=plan.entries)


def run_port_entry(module: AnsibleModule, kind: str, bindv6only: bool | None = False) -> None:
    """Shared main() of sendmail_daemon and sendmail_client."""
    params = module.params
    try:
        changes = port_changes(params)
    except RefusedChange as error:
        module.fail_json(msg="{}: {}".format(params["path"], error))
    run_edit(module, lambda document: ensure_port_entry(
        document, kind, params["name"], params["state"], changes, bindv6only, tuple(params["replaces"])),
        _describe_one)


def run_setting(module: AnsibleModule) -> None:
    """main() of sendmail_mc."""
    run_edit(module, setting_step(module.params), _describe_one)


def _warn_unmatched_access_keys(module: AnsibleModule, mc_path: str, daemons: list[dict[str, object]]) -> None:
    """Warn about IPv6 keys of the access file beside the .mc that sendmail never looks up.

    Only when sendmail listens on IPv6, where those clients come from; the file is only read.
    """
    if not any(daemon.get("family") == "inet6" and daemon.get("state", PRESENT) == PRESENT for daemon in daemons):
        return
    access = os.path.join(os.path.dirname(os.path.abspath(mc_path)), "access")
    try:
        text = read_text(access)
    except (OSError, UnicodeDecodeError):
        return  # no access file, or none to read: nothing to warn about
    for key in unmatched_ipv6_keys(text):
        module.warn(key.warning(access))


def run_config(module: AnsibleModule) -> None:
    """main() of sendmail_config: the whole wanted state in one edit."""
    params = module.params
    addresses = host_addresses(module) if params["listen"] is not None else None
    bindv6only = params["bindv6only"]
    if bindv6only is None:
        bindv6only = read_bindv6only()
        if params["listen"] is not None:
            bindv6only = ipv6_for_planning(bindv6only, addresses)
    if params["listen"] is not None and bindv6only is None:
        module.warn("IPv6 is not available on this host (no net.ipv6.bindv6only, or no IPv6 address on any "
                    "interface): sendmail is planned to listen on IPv4 only")

    def describe(plan: ConfigPlan) -> dict[str, Any]:
        _warn_unmatched_access_keys(module, params["path"], plan.daemons)
        return dict(changes=list(plan.changes), daemons=plan.daemons, clients=plan.clients,
                    listen_reasons=list(plan.reasons), ipv6_available=bindv6only is not None)

    run_edit(module, lambda document: plan_config(
        document, params["daemons"], params["clients"], params["settings"], bindv6only, params["exclusive"],
        params["listen"], addresses),
        describe, params["cf_path"])
