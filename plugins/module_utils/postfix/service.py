# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""master.cf services: names, fields and -o parameters, read from postconf, compared by meaning.

Everything here takes strings and returns values; running postconf is service_host's job.
The plan is a list of postconf argument lists (-M, -F, -P and their -X / -# forms).
"""

from __future__ import annotations

import ipaddress
import re
import typing as t
from dataclasses import dataclass, field

from ansible_collections.dualstack.mta.plugins.module_utils.net import HOST_LABEL

TYPES = ("inet", "unix", "unix-dgram", "fifo", "pass")
STATES = ("present", "absent", "commented")

# postconf -F names, in master.cf column order, and the module's option for each.
FIELDS = (
    ("private", "private"),
    ("unpriv", "unprivileged"),
    ("chroot", "chroot"),
    ("wakeup", "wakeup"),
    ("maxproc", "process_limit"),
)
BOOLEAN_FIELDS = ("private", "unpriv", "chroot")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLANK = re.compile(r"\s")
_PARAMETER = re.compile(r"[A-Za-z0-9_]+\Z")
_PORT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")
# net.HOST_NAME's labels, without the trailing dot it allows: master.cf takes none.
_HOST_NAME = re.compile(rf"(?=.{{1,253}}\Z){HOST_LABEL}(?:\.{HOST_LABEL})*\Z")
_WAKEUP = re.compile(r"(?:[0-9]+\??|-)\Z")
_MAXPROC = re.compile(r"(?:[0-9]+|-)\Z")


class Problem(ValueError):
    """Input master.cf or postconf would reject or misread; the message says why."""


@dataclass(frozen=True)
class Service:
    """One active master.cf service as postconf -F and -P report it (fields as written)."""

    name: str
    type: str
    fields: t.Mapping[str, str]
    command: str  # program and arguments, without the -o parameters
    options: t.Mapping[str, str]

    @property
    def key(self) -> str:
        """name/type, as postconf names the service."""
        return f"{self.name}/{self.type}"


@dataclass
class Wanted:
    """What the task asks for one service; None leaves a field or a parameter as it is."""

    name: str
    type: str
    state: str = "present"
    fields: dict[str, str] = field(default_factory=dict)
    command: str | None = None
    options: dict[str, str | None] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """name/type, as postconf names the service."""
        return f"{self.name}/{self.type}"


@dataclass
class Plan:
    """postconf argument lists that bring master.cf to the wanted state, and what they change."""

    commands: list[list[str]] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    added: bool = False
    removed: bool = False

    @property
    def changed(self) -> bool:
        """Whether any postconf command is needed."""
        return bool(self.commands)


# --- validation ----------------------------------------------------------------------------


def _check_endpoint(name: str) -> None:
    """An inet service name: a port, or host:port with an IPv6 host in brackets."""
    if name.startswith("["):
        host, sep, port = name[1:].partition("]:")
        if not sep:
            raise Problem(f"service name {name!r}: write an IPv6 address as [address]:port")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise Problem(f"service name {name!r}: {host!r} in brackets is not an IPv6 address")
    elif name.count(":") > 1:
        raise Problem(f"service name {name!r}: an IPv6 address needs brackets, as in [2001:db8::25]:smtp")
    elif ":" in name:
        host, _sep, port = name.partition(":")
        if not (_HOST_NAME.match(host) or _is_ipv4(host)):
            raise Problem(f"service name {name!r}: {host!r} is neither an IPv4 address nor a host name")
    else:
        port = name
    if port.isdigit():
        if not 0 < int(port) < 65536:
            raise Problem(f"service name {name!r}: port {port} is out of range (1-65535)")
    elif not _PORT_NAME.match(port):
        raise Problem(f"service name {name!r}: {port!r} is neither a port number nor a service name")


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def parse_key(key: str) -> tuple[str, str]:
    """name/type split and checked: the type is one master(8) knows, inet names are endpoints."""
    if _CONTROL.search(key) or _BLANK.search(key):
        raise Problem(f"service {key!r}: blanks and control characters are not allowed")
    name, sep, kind = key.rpartition("/")
    if not sep or not name:
        raise Problem(f"service {key!r}: write it as name/type, for example submission/inet")
    if kind not in TYPES:
        raise Problem("service {!r}: unknown type {!r} (one of {})".format(key, kind, ", ".join(TYPES)))
    if kind == "inet":
        _check_endpoint(name)
    elif "/" in name or "=" in name:
        raise Problem(f"service {key!r}: the name may not contain / or =")
    return name, kind


def _flag(option: str, raw: t.Any) -> str:
    if isinstance(raw, bool):
        return "y" if raw else "n"
    text = str(raw).strip().lower()
    if text in ("y", "n", "-"):
        return text
    if text in ("yes", "true"):
        return "y"
    if text in ("no", "false"):
        return "n"
    raise Problem(f"{option}: {raw!r} is not y, n, - or a boolean")


def wanted_service(
    key: str,
    state: str = "present",
    fields: t.Mapping[str, t.Any] | None = None,
    command: str | None = None,
    options: t.Mapping[str, t.Any] | None = None,
) -> Wanted:
    """The task's input checked and in master.cf spelling, or Problem."""
    name, kind = parse_key(key)
    if state not in STATES:
        raise Problem("state {!r}: one of {}".format(state, ", ".join(STATES)))
    wanted = Wanted(name=name, type=kind, state=state)
    wanted.fields = _wanted_fields(fields or {})
    if command is not None:
        wanted.command = _wanted_command(command)
    wanted.options = _wanted_options(options or {})
    return wanted


def _wanted_fields(fields: t.Mapping[str, t.Any]) -> dict[str, str]:
    """The fields given a value, checked; a None field is left as it is."""
    return {option: _field_value(option, raw) for option, raw in fields.items() if raw is not None}


def _field_value(option: str, raw: t.Any) -> str:
    """One field as master.cf writes it: y or n for a flag, a number or - for wakeup and maxproc."""
    if not isinstance(raw, bool) and (_CONTROL.search(str(raw)) or _BLANK.search(str(raw))):
        raise Problem(f"{option}: {raw!r}: blanks and newlines are not allowed in a field")
    if option in BOOLEAN_FIELDS:
        return _flag(option, raw)
    text = str(raw).strip()
    pattern = {"wakeup": _WAKEUP, "maxproc": _MAXPROC}.get(option)
    if pattern is None:
        raise Problem(f"unknown field {option!r}")
    if not pattern.match(text):
        raise Problem(f"{option}: {raw!r} is not a number or - (wakeup may end in ?)")
    return text


def _wanted_command(command: str) -> str:
    """The command field's program and arguments, single-spaced; its -o parameters go in options."""
    if _CONTROL.search(command):
        raise Problem("command: newlines and control characters are not allowed")
    words = command.split()
    if not words:
        raise Problem("command: empty")
    if "-o" in words:
        raise Problem("command: give -o parameters in options, not in the command")
    return " ".join(words)


def _wanted_options(options: t.Mapping[str, t.Any]) -> dict[str, str | None]:
    """The -o parameters checked, by name; None asks for the parameter's removal."""
    wanted: dict[str, str | None] = {}
    for parameter, raw in options.items():
        if not _PARAMETER.match(str(parameter)):
            raise Problem(f"options: {parameter!r} is not a parameter name (letters, digits and _)")
        wanted[parameter] = None if raw is None else _option_value(parameter, raw)
    return wanted


def _option_value(parameter: str, raw: t.Any) -> str:
    """One -o value as master.cf writes it: a boolean is yes or no, and no blanks or braces."""
    value = ("yes" if raw else "no") if isinstance(raw, bool) else str(raw)
    if _CONTROL.search(value):
        raise Problem(f"options: {parameter}: newlines and control characters are not allowed")
    if _BLANK.search(value.strip()) or "{" in value or "}" in value:
        raise Problem(f"options: {parameter}: a -o value may not contain blanks or braces")
    if not value.strip():
        raise Problem(f"options: {parameter}: empty value (use null to remove the parameter)")
    return value.strip()


# --- parsing -------------------------------------------------------------------------------


def _lines(output: str) -> t.Iterator[tuple[str, str]]:
    for line in output.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            yield key.strip(), value.strip()
        elif line.rstrip().endswith(" ="):
            yield line.rstrip()[:-2].strip(), ""


def strip_options(command: str) -> str:
    """The command field without its -o name=value words."""
    words = command.split()
    kept = []
    index = 0
    while index < len(words):
        if words[index] == "-o" and index + 1 < len(words):
            index += 2
            continue
        if words[index].startswith("-o") and "=" in words[index]:
            index += 1
            continue
        kept.append(words[index])
        index += 1
    return " ".join(kept)


def parse_services(fields_output: str, parameters_output: str) -> dict[str, Service]:
    """Services from ``postconf -F`` and ``postconf -P`` output, by name/type."""
    raw: dict[str, dict[str, str]] = {}
    for key, value in _lines(fields_output):
        service, _sep, column = key.rpartition("/")
        raw.setdefault(service, {})[column] = value
    options: dict[str, dict[str, str]] = {}
    for key, value in _lines(parameters_output):
        parts = key.split("/")
        if len(parts) < 3:
            continue
        options.setdefault("/".join(parts[:-1]), {})[parts[-1]] = value
    services = {}
    for key, columns in raw.items():
        name, _sep, kind = key.rpartition("/")
        services[key] = Service(
            name=name,
            type=kind,
            fields={option: columns.get(column, "-") for option, column in FIELDS},
            command=strip_options(columns.get("command", "")),
            options=options.get(key, {}),
        )
    return services


# --- meaning -------------------------------------------------------------------------------


def field_meaning(option: str, value: str, default_process_limit: str = "100") -> str:
    """What master(8) makes of a field: - is its default (chroot n since Postfix 3.0)."""
    value = value.strip()
    if option == "maxproc":
        return default_process_limit if value == "-" else value
    if option == "wakeup":
        return "0" if value == "-" else value
    return {"private": "y", "unpriv": "y", "chroot": "n"}[option] if value == "-" else value


def service_line(service: Service) -> str:
    """The service as one master.cf line (the shape postconf -M prints)."""
    words = [service.name, service.type] + [service.fields[o] for o, _c in FIELDS] + [service.command]
    words += ["-o {}={}".format(*item) for item in service.options.items()]
    return " ".join(w for w in words if w)


def plan(
    wanted: Wanted, current: Service | None, default_process_limit: str = "100"
) -> Plan:
    """The postconf commands that make master.cf say what ``wanted`` asks, none when it does."""
    if wanted.state in ("absent", "commented"):
        return _plan_removal(wanted, current)
    if current is None:
        return _plan_addition(wanted)
    key = wanted.key
    result = Plan()
    _plan_fields(wanted, current, default_process_limit, result)
    options, option_commands = _plan_options(wanted, current, result)
    if wanted.command is not None and wanted.command.split() != current.command.split():
        # The command field holds the -o parameters too: write them with it, as they end up.
        command = " ".join([wanted.command] + ["-o {}={}".format(*item) for item in options.items()])
        result.commands.append(["-F", f"{key}/command={command}"])
        result.changes.append(f"{key} command: {current.command} -> {wanted.command}")
    else:
        result.commands += option_commands
    return result


def _plan_removal(wanted: Wanted, current: Service | None) -> Plan:
    """Remove or comment out the service, nothing when it is not there."""
    result = Plan()
    if current is not None:
        key = wanted.key
        result.commands.append(["-MX" if wanted.state == "absent" else "-M#", key])
        result.changes.append("{} {}".format(key, "removed" if wanted.state == "absent" else "commented out"))
        result.removed = True
    return result


def _plan_addition(wanted: Wanted) -> Plan:
    """Add the service as one master.cf line; unset fields are -, None options are left out."""
    key = wanted.key
    if wanted.command is None:
        raise Problem(f"{key} is not in master.cf: give command (for example smtpd) to add it")
    columns = [wanted.fields.get(o, "-") for o, _c in FIELDS]
    options = {k: v for k, v in wanted.options.items() if v is not None}
    line = " ".join([wanted.name, wanted.type] + columns + [wanted.command]
                    + ["-o {}={}".format(*item) for item in options.items()])
    result = Plan()
    result.commands.append(["-M", f"{key}={line}"])
    result.changes.append(f"{key} added")
    result.added = True
    return result


def _plan_fields(wanted: Wanted, current: Service, default_process_limit: str, result: Plan) -> None:
    """Add to ``result`` a -F command for each wanted field whose meaning differs from the current one."""
    key = wanted.key
    for option, column in FIELDS:
        value = wanted.fields.get(option)
        if value is None:
            continue
        if field_meaning(option, value, default_process_limit) != field_meaning(
            option, current.fields[option], default_process_limit
        ):
            result.commands.append(["-F", f"{key}/{column}={value}"])
            result.changes.append(f"{key} {option}: {current.fields[option]} -> {value}")


def _plan_options(wanted: Wanted, current: Service, result: Plan) -> tuple[dict[str, str], list[list[str]]]:
    """The -o parameters as they end up, and the -P / -PX commands that get them there.

    The changes go into ``result`` now; the commands are returned, as a new command field
    writes the parameters itself and makes them unneeded.
    """
    key = wanted.key
    options = dict(current.options)
    option_commands = []
    for parameter, value in wanted.options.items():
        before = current.options.get(parameter)
        if value is None:
            if before is not None:
                del options[parameter]
                option_commands.append(["-PX", f"{key}/{parameter}"])
                result.changes.append(f"{key} -o {parameter} removed")
        elif before is None or before.split() != value.split():
            options[parameter] = value
            option_commands.append(["-P", f"{key}/{parameter}={value}"])
            result.changes.append(f"{key} -o {parameter}: {before} -> {value}")
    return options, option_commands
