# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Probe SMTP listeners: banner, EHLO, and optionally acceptance of an envelope or one message.

Standard library only (``smtplib``), so it runs on any managed host and on the
controller.  ``parse_target`` and ``queue_id`` are pure; ``probe`` talks to one
listener and never raises: every outcome is in the returned dict.
"""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
import time
import typing as t
from dataclasses import dataclass

# A listener that greets with 421 is closing the session (load, rate control, a wedged daemon):
# for a probe that is the same as not listening.
READY_CODE = 220
_QUEUED = (
    re.compile(r"queued as ([A-Za-z0-9]+)"),                  # postfix, exim ("id=" aside), many others
    re.compile(r"^(?:[0-9.]+ )?([A-Za-z0-9]{8,20}) Message accepted"),  # sendmail
)
_EXTENSIONS = ("starttls", "size", "8bitmime", "auth", "pipelining", "smtputf8", "dsn", "enhancedstatuscodes")
# Sockets bound to every address are probed on the loopback address of their family.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "*": "127.0.0.1"}


class TargetError(ValueError):
    """A target that cannot be probed as written."""


@dataclass(frozen=True)
class Target:
    """One address and port to probe, and how the user wrote it."""

    address: str
    port: int
    given: str

    @property
    def family(self) -> str:
        """inet6 for an IPv6 address, else inet."""
        return "inet6" if ":" in self.address else "inet"

    @property
    def label(self) -> str:
        """address:port, an IPv6 address in brackets."""
        return f"[{self.address}]:{self.port}" if self.family == "inet6" else f"{self.address}:{self.port}"


def _port(text, given: str) -> int:
    try:
        port = int(str(text))
    except ValueError:
        raise TargetError(f"{given!r}: the port {text!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise TargetError(f"{given!r}: the port {port} is out of range (1-65535)")
    return port


def _address(text: str, given: str) -> str:
    text = text.strip()
    if text in _WILDCARDS:
        return _WILDCARDS[text]
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0])) + ("%" + text.split("%", 1)[1] if "%" in text else "")
    except ValueError:
        pass
    if re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", text):
        return text  # a host name: resolved when connecting
    raise TargetError(f"{given!r}: {text!r} is neither an IP address nor a host name")


def parse_target(target, default_port: int = 25) -> Target:
    """A target from ``address``, ``address:port``, ``[ipv6]:port``, a bare IPv6 address, or a socket
    dict with ``address`` and ``port`` (as the collection's socket filters return)."""
    if isinstance(target, dict):
        if "address" not in target:
            raise TargetError(f"{target!r}: a target given as a dict needs an address")
        given = "{} port {}".format(target["address"], target.get("port", default_port))
        return Target(_address(str(target["address"]).strip("[]"), given),
                      _port(target.get("port", default_port), given), given)
    given = str(target).strip()
    if not given:
        raise TargetError("an empty target")
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::([^:]*))?", given)
    if bracketed:
        port = bracketed.group(2)
        return Target(_address(bracketed.group(1), given), _port(port, given) if port is not None else default_port,
                      given)
    if given.count(":") == 1:
        host, port = given.split(":")
        return Target(_address(host, given), _port(port, given), given)
    return Target(_address(given, given), default_port, given)  # a name, IPv4, or IPv6 without a port


def queue_id(reply: str) -> str | None:
    """The queue id in the reply to DATA, as postfix and sendmail word it."""
    for pattern in _QUEUED:
        found = pattern.search(reply)
        if found:
            return found.group(1)
    return None


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


@dataclass(frozen=True)
class Envelope:
    """What to ask after EHLO: ``rcpt_to`` None asks nothing; ``message`` sends one (else RSET)."""

    mail_from: str = ""
    rcpt_to: str | None = None
    message: str | None = None


def _step(result: dict[str, t.Any], key: str, reply) -> bool:
    code, text = reply
    result[key + "_code"] = code
    result[key + "_text"] = _text(text)
    return 200 <= code < 400


def probe(target: Target, helo: str, timeout: float, envelope: Envelope = Envelope(),
          source_address: str | None = None) -> dict[str, t.Any]:
    """Connect, read the banner, EHLO, and optionally MAIL/RCPT and RSET or DATA; close politely."""
    result = {"target": target.label, "address": target.address, "port": target.port, "family": target.family,
              "ok": False, "error": None}
    started = time.monotonic()
    client = smtplib.SMTP(timeout=timeout, local_hostname=helo,
                          source_address=(source_address, 0) if source_address else None)
    try:
        code, banner = client.connect(target.address, target.port)
        banner = _text(banner)
        result.update(banner_code=code, banner=banner, greeting_name=(banner.split() or [""])[0])
        if code != READY_CODE:
            result["error"] = f"the listener answered {code} instead of 220: {_text(banner)}"
            return result
        code, reply = client.ehlo(helo)
        lines = _text(reply).splitlines()
        result.update(ehlo_code=code, ehlo_name=(lines[0].split() or [""])[0] if lines else "")
        if code != 250:
            result["error"] = f"EHLO was answered {code}: {_text(reply)}"
            return result
        features = client.esmtp_features
        result["extensions"] = {name: features[name].strip() for name in sorted(features)}
        result.update({name: name in features for name in _EXTENSIONS})
        if envelope.rcpt_to is not None:
            # smtplib writes an empty sender as the null reverse-path <>.
            if not (_step(result, "mail", client.mail(envelope.mail_from))
                    and _step(result, "rcpt", client.rcpt(envelope.rcpt_to))):
                result["error"] = "the envelope was refused: {}".format(result.get("rcpt_text") or result.get("mail_text"))
                return result
            if envelope.message is None:
                client.rset()  # nothing is sent: the server forgets the envelope
            else:
                if not _step(result, "data", client.data(envelope.message.encode("utf-8"))):
                    result["error"] = "the message was refused: {}".format(result["data_text"])
                    return result
                result["queue_id"] = queue_id(result["data_text"])
        result["ok"] = True
        return result
    except (OSError, smtplib.SMTPException) as error:
        result["error"] = _describe(error)
        return result
    finally:
        result["elapsed"] = round(time.monotonic() - started, 3)
        _close(client)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPServerDisconnected):
        # An exception is always true: its text may still be empty.
        return f"the listener closed the connection: {str(error) or 'no answer'}"
    if isinstance(error, socket.timeout):
        return "no answer within the timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused: nothing listens there"
    if isinstance(error, socket.gaierror):
        return f"the name does not resolve: {error}"
    return f"{type(error).__name__}: {error}"


def _close(client) -> None:
    try:
        if client.sock is not None:
            client.quit()
    except (OSError, smtplib.SMTPException):
        pass
    client.close()


def probe_message(sender: str, recipient: str, helo: str) -> str:
    """A small message that says what it is."""
    from_address = sender or "MAILER-DAEMON"
    return (f"From: <{from_address}>\r\nTo: <{recipient}>\r\nSubject: dualstack.mta SMTP probe from {helo}\r\n"
            "Auto-Submitted: auto-generated\r\n\r\nThis message tests mail delivery; it needs no answer.\r\n")


def verdict(results: list[dict[str, t.Any]], require: str) -> str | None:
    """Why the probe fails under ``require`` (all, any, none), or None."""
    failed = [result for result in results if not result["ok"]]
    if require == "all" and failed:
        return "not every target answered: " + "; ".join("{}: {}".format(r["target"], r["error"]) for r in failed)
    if require == "any" and results and len(failed) == len(results):
        return "no target answered: " + "; ".join("{}: {}".format(r["target"], r["error"]) for r in failed)
    return None
