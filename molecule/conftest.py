"""Helpers for the scenarios' testinfra tests: hosts by name and their addresses."""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import time
import uuid

import pytest
import testinfra


@functools.cache
def _ansible_host(name):
    return testinfra.get_host(
        f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}"
    )


@functools.cache
def _host(name):
    """The host as testinfra reaches it: podman exec for a podman container, else the inventory's way.

    testinfra runs a whole ansible command for each check on a connection it does not know (podman
    among them); podman exec does the same as root in a tenth of the time.
    """
    host = _ansible_host(name)
    connection = host.backend.ansible_runner.get_variables(name).get("ansible_connection", "")
    if connection.split(".")[-1] == "podman":
        return testinfra.get_host(f"podman://{name}")
    return host


# A verify step changes no address, so each host is asked once: every question over the
# ansible connection costs a second or more.
@functools.cache
def _global_addresses(name):
    """Global addresses of eth0 by family, in the order the kernel lists them."""
    out = _host(name).check_output("ip -j addr show dev eth0")
    found = {"inet": [], "inet6": []}
    for info in json.loads(out)[0]["addr_info"]:
        if info.get("scope") == "global":
            found[info["family"]].append(ipaddress.ip_address(info["local"]))
    return found


@pytest.fixture(scope="session")
def host_named():
    return _host


@pytest.fixture(scope="session")
def addresses():
    return _global_addresses


@functools.cache
def _os_family(name):
    """The host's OS family as Ansible names it: Debian, RedHat."""
    facts = _ansible_host(name).ansible("ansible.builtin.setup", "gather_subset=!all", check=False)
    return facts["ansible_facts"]["ansible_os_family"]


@pytest.fixture(scope="session")
def os_family():
    return _os_family


# Waits for the greeting before it speaks: sendmail's greet_pause rejects early talkers.
_BANNER_CLIENT = (
    "import socket,sys;"
    "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=15);"
    "f=s.makefile('rb');line=f.readline();"
    "s.sendall(b'QUIT\\r\\n');print(line.decode().strip())"
)


def _python():
    """The interpreter the scenario runs modules with (molecule.yml's provisioner env passes it on).

    EL8 images have no python3, only python3.11: the scenario names it, the tests do not guess.
    """
    try:
        return os.environ["ANSIBLE_PYTHON_INTERPRETER"]
    except KeyError:
        pytest.fail("ANSIBLE_PYTHON_INTERPRETER is not set: the scenario's molecule.yml must pass it on")


def _smtp_banner(client, address, port=25):
    """The first line the server at address:port sends, read from the client host."""
    result = client.run(f'{_python()} -c "{_BANNER_CLIENT}" {address} {port}')
    return result.stdout.strip() or result.stderr.strip()


def _wait_for_text(host, path, text, timeout=60):
    """True once path on host contains text; polls for at most timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host.run(f"grep -qF -- {text!r} {path}").rc == 0:
            return True
        time.sleep(2)
    return False


@pytest.fixture(scope="session")
def smtp_banner():
    return _smtp_banner


@pytest.fixture(scope="session")
def wait_for_text():
    return _wait_for_text


def _sendmail_literal(address):
    """An address as sendmail writes literals: IPv6 with every group, no leading zeros.

    sendmail takes mail for [IPv6:2001:db8:25:0:0:0:0:1e] as local, not for the compressed form.
    """
    address = ipaddress.ip_address(address)
    if address.version == 4:
        return str(address)
    return "IPv6:" + ":".join(f"{int(group, 16):x}" for group in address.exploded.split(":"))


def _deliver(sender, receiver, recipient, timeout=60):
    """Send a mail with a unique subject; return it as it arrived in receiver's /var/mail/root."""
    token = f"probe-{uuid.uuid4()}"
    sender.check_output(
        f"printf 'Subject: {token}\\n\\nprobe\\n' | /usr/sbin/sendmail -oi -f root '{recipient}'"
    )
    assert _wait_for_text(receiver, "/var/mail/root", token, timeout), sender.run("mailq").stdout
    mailbox = receiver.check_output("cat /var/mail/root")
    return mailbox[mailbox.rindex("From ", 0, mailbox.index(token)):]


@pytest.fixture(scope="session")
def sendmail_literal():
    return _sendmail_literal


@pytest.fixture(scope="session")
def deliver():
    return _deliver
