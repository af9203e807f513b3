# -*- coding: utf-8 -*-
# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``DnsLookup`` of spf.py backed by dnspython."""

from __future__ import annotations

import traceback
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import DnsTempError

try:
    import dns.exception
    import dns.name
    import dns.resolver
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    HAS_DNSPYTHON = True
    DNSPYTHON_IMPORT_ERROR = None


def txt_text(strings: t.Iterable[bytes]) -> str:
    """One TXT record as SPF reads it: its strings joined as-is (RFC 7208 3.3).

    Octets outside ASCII become U+FFFD, which no SPF term accepts.
    """
    return b"".join(strings).decode("ascii", "replace")


def _text(rdata: t.Any, rdtype: str) -> str:
    if rdtype == "TXT":
        return txt_text(rdata.strings)
    if rdtype == "MX":
        return rdata.exchange.to_text(omit_final_dot=True).lower()
    if rdtype == "PTR":
        return rdata.target.to_text(omit_final_dot=True).lower()
    return rdata.to_text()


def query_name(name: str) -> t.Optional[t.Any]:
    """The dns.name.Name for ``name`` taken literally, or None when no such name can exist.

    Labels are split on dots only: a backslash or a space from a HELO name or a
    local part stays part of its label instead of being read as zone-file syntax.
    Labels outside ASCII are IDNA-encoded where they can be, else sent as UTF-8.
    """
    text = name[:-1] if name.endswith(".") else name
    labels = []
    for label in text.split("."):
        if label.isascii():
            labels.append(label.encode("ascii"))
            continue
        try:
            labels.append(label.encode("idna"))
        except UnicodeError:
            labels.append(label.encode("utf-8", "replace"))
    try:
        return dns.name.Name(labels + [b""])
    except dns.exception.DNSException:
        return None  # an empty or overlong label, or a name over 255 octets


class DnsPythonLookup:
    """Stub resolver: the system's (resolv.conf) or the given servers, with a cache."""

    def __init__(self, servers: t.Optional[list[str]] = None, port: int = 53, timeout: float = 5.0) -> None:
        self._setup_error: t.Optional[str] = None
        try:
            self._resolver = dns.resolver.Resolver(configure=not servers)
        except dns.exception.DNSException as exc:
            # No usable /etc/resolv.conf: every lookup reports it as a temperror.
            self._setup_error = "no resolver configured (%s); set the resolver option" % (str(exc) or type(exc).__name__)
            self._resolver = dns.resolver.Resolver(configure=False)
        if servers:
            self._resolver.nameservers = list(servers)
        self._resolver.port = port
        # One try per server, so an unreachable server costs timeout seconds per
        # lookup rather than the default of several tries.
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout * max(1, len(self._resolver.nameservers))
        self._resolver.cache = dns.resolver.Cache()

    def lookup(self, name: str, rdtype: str) -> list[str]:
        if self._setup_error:
            raise DnsTempError(self._setup_error)
        qname = query_name(name)
        if qname is None:
            return []  # a name that cannot exist has no records
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout:
            raise DnsTempError("timed out after %gs" % self._resolver.lifetime) from None
        except dns.resolver.NoNameservers as exc:
            raise DnsTempError("no server answered: %s" % exc) from None
        except dns.exception.DNSException as exc:
            raise DnsTempError(str(exc) or type(exc).__name__) from None
        except (OSError, ValueError, OverflowError) as exc:  # the socket layer: unreachable server, bad port
            raise DnsTempError("%s: %s" % (type(exc).__name__, exc)) from None
        if answer.rrset is None:
            return []
        return [_text(rdata, rdtype) for rdata in answer.rrset]
