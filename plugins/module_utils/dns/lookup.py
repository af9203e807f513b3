# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``DnsLookup`` of spf.py: backed by dnspython, or by the system resolver where it is missing.

``SystemLookup`` needs nothing beyond the standard library, so a managed host
without dnspython still gets real answers for what the C library can ask:
A, AAAA (``getaddrinfo``) and PTR (``gethostbyaddr``).  It asks through NSS,
so /etc/hosts answers before DNS does.  TXT and MX cannot be asked that way:
those lookups raise ``DnsTempError`` naming dnspython, so a check that needs
them reads "unknown" for that reason and no other.
"""

from __future__ import annotations

import ipaddress
import socket
import traceback
import typing as t

from ansible_collections.dualstack.mta.plugins.module_utils.dns.spf import DnsTempError

try:
    import dns.exception
    import dns.name
    import dns.resolver
except ImportError:
    HAS_DNSPYTHON = False
    DNSPYTHON_IMPORT_ERROR: str | None = traceback.format_exc()
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


def query_name(name: str) -> t.Any | None:
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

    def __init__(self, servers: list[str] | None = None, port: int = 53, timeout: float = 5.0) -> None:
        self._setup_error: str | None = None
        try:
            self._resolver = dns.resolver.Resolver(configure=not servers)
        except dns.exception.DNSException as exc:
            # No usable /etc/resolv.conf: every lookup reports it as a temperror.
            self._setup_error = f"no resolver configured ({str(exc) or type(exc).__name__}); set the resolver option"
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
        """The records of ``rdtype`` at ``name`` as text, asked through dnspython."""
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
            raise DnsTempError(f"timed out after {self._resolver.lifetime:g}s") from None
        except dns.resolver.NoNameservers as exc:
            raise DnsTempError(f"no server answered: {exc}") from None
        except dns.exception.DNSException as exc:
            raise DnsTempError(str(exc) or type(exc).__name__) from None
        except (OSError, ValueError, OverflowError) as exc:  # the socket layer: unreachable server, bad port
            raise DnsTempError(f"{type(exc).__name__}: {exc}") from None
        if answer.rrset is None:
            return []
        return [_text(rdata, rdtype) for rdata in answer.rrset]


DNSPYTHON = "dnspython"
SYSTEM = "the system resolver (NSS: /etc/hosts, then DNS)"
_FAMILIES = {"A": socket.AF_INET, "AAAA": socket.AF_INET6}
_TRY_AGAIN, _NO_RECOVERY = 2, 3  # h_errno of gethostbyaddr (netdb.h); 1 and 4 mean no such record
# getaddrinfo errors that mean "no such name or no such record", not "no answer".
_NO_DATA = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY") if hasattr(socket, name)}


class SystemLookup:
    """A, AAAA and PTR through the C library's resolver; other types raise ``DnsTempError``."""

    def lookup(self, name: str, rdtype: str) -> list[str]:
        """The A, AAAA or PTR records at ``name`` as text, asked through the C library."""
        if rdtype in _FAMILIES:
            return self._addresses(name, _FAMILIES[rdtype])
        if rdtype == "PTR":
            return self._names(name)
        raise DnsTempError(f"{rdtype} records cannot be asked through the system resolver; install dnspython "
                           "(Debian: python3-dnspython, EL: python3-dns) on the host")

    @staticmethod
    def _addresses(name: str, family: int) -> list[str]:
        try:
            found = socket.getaddrinfo(name, None, family, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            if exc.errno in _NO_DATA:
                return []
            raise DnsTempError(f"{name}: {exc.strerror or exc}") from None
        except (UnicodeError, ValueError):
            return []  # a name that cannot exist has no records
        return sorted({info[4][0].split("%", 1)[0] for info in found})

    @staticmethod
    def _names(pointer: str) -> list[str]:
        address = _address_of_pointer(pointer)
        if address is None:
            return []
        try:
            host, aliases, _addresses = socket.gethostbyaddr(address)
        except socket.herror as exc:
            if exc.errno in (_TRY_AGAIN, _NO_RECOVERY):
                raise DnsTempError(f"PTR of {address}: {exc.strerror or exc}") from None
            return []  # HOST_NOT_FOUND, NO_DATA: no PTR
        except socket.gaierror as exc:
            raise DnsTempError(f"PTR of {address}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise DnsTempError(f"PTR of {address}: {exc}") from None
        return sorted({item.rstrip(".").lower() for item in [host] + list(aliases) if item})


def _address_of_pointer(pointer: str) -> str | None:
    """The address a reverse name (``...in-addr.arpa`` / ``...ip6.arpa``) stands for."""
    labels = pointer.rstrip(".").lower().split(".")
    try:
        if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
            return str(ipaddress.IPv4Address(".".join(reversed(labels[:4]))))
        if labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
            nibbles = "".join(reversed(labels[:32]))
            return str(ipaddress.IPv6Address(int(nibbles, 16)))
    except ValueError:
        return None
    return None


def make_lookup(servers: list[str] | None, port: int, timeout: float) -> tuple[t.Any, str]:
    """The lookup to use and the name of the resolver that answers: dnspython where it is
    installed, else the system resolver (which cannot ask given servers)."""
    if HAS_DNSPYTHON:
        return DnsPythonLookup(servers, port, timeout), DNSPYTHON
    if servers:
        return _Refusing("asking the servers {} needs dnspython on the host".format(", ".join(servers))), DNSPYTHON
    return SystemLookup(), SYSTEM


class _Refusing:
    def __init__(self, why: str) -> None:
        self._why = why

    def lookup(self, name: str, rdtype: str) -> list[str]:
        raise DnsTempError(self._why)
