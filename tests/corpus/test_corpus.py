# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every editing module over a corpus of real configuration files, with the real tools.

The corpus (``files/``) holds distribution defaults (Debian 12's stock files as
shipped; the layouts of Red Hat, FreeBSD, Slackware and openSUSE written from
their documented contents) and hand-kept variants.  Stock files captured from
other releases under ``tests/fixtures/stock/<system>/`` join the run when present.

For each file and task: the module changes the file, a second run changes
nothing, the diff touches only the lines the task concerns, and the result
builds and checks as cleanly as the original did (m4 the way the file's system
builds it, then ``sendmail -C <cf> -bC``; ``postfix check`` for main.cf).  A
refusal is accepted only where the table below expects it, with the file left
byte-identical.

sendmail runs in a network namespace with an FQDN in a UTS namespace; other
systems' macro paths (/usr/share/sendmail-cf, openSUSE's /usr/share/sendmail/m4)
are provided by an overlay in a private mount namespace.  postfix conflicts with
sendmail on this machine, so its Debian package is unpacked (``apt-get
download`` + ``dpkg -x``, cached under .cache/) and overlaid on /usr in a private
mount namespace, with the postfix user, group and queue directory it needs.
Modules run as Ansible runs them on a host: the module file with a JSON
arguments file.
"""

from __future__ import annotations

import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FILES = HERE / "files"
STOCK = REPO / "tests" / "fixtures" / "stock"
CACHE = REPO / ".cache" / "corpus"
COLLECTIONS = REPO / ".cache" / "collections"
CF_DIR = Path("/usr/share/sendmail/cf")
SENDMAIL = shutil.which("sendmail", path="/usr/sbin:/usr/lib")
M4 = shutil.which("m4")
HOSTNAME = "mx.example.test"
M4_TIMEOUT = 60

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces"),
    pytest.mark.skipif(not (SENDMAIL and M4 and (CF_DIR / "m4" / "cf.m4").exists()),
                       reason="needs m4, sendmail-bin and sendmail-cf (Debian packages)"),
]


# --- the corpus ---------------------------------------------------------------------------

def _stock(pattern):
    return sorted(Path(path) for path in glob.glob(str(STOCK / "*" / pattern)))


MC_FILES = sorted(FILES.glob("*/*.mc")) + [path for path in _stock("*.mc") if path.name in ("sendmail.mc", "submit.mc")]
MAIN_CF_FILES = sorted(FILES.glob("postfix/*.cf")) + _stock("main.cf")

# Tasks for each sendmail file: module, arguments, which lines it may touch, and a line the built .cf must have.
MC_TASKS = {
    "daemon-v6": ("sendmail_daemon", dict(name="MTA-v6", family="inet6", addr="2001:db8:25::10", port="smtp"),
                  "DAEMON_OPTIONS(", r"O DaemonPortOptions=(?=.*Name=MTA-v6)(?=.*Family=inet6)(?=.*Addr=2001:db8:25::10).*"),
    "client-v6": ("sendmail_client", dict(name="out6", family="inet6", addr="2001:db8:25::10"),
                  "CLIENT_OPTIONS(", r"O ClientPortOptions=Name=out6, Family=inet6, Addr=2001:db8:25::10"),
    "feature": ("sendmail_mc", dict(feature="nocanonify"), "FEATURE(`nocanonify'", None),
    "smart-host": ("sendmail_mc", dict(define="SMART_HOST", value="[mx.dnl.example.net]"), "SMART_HOST",
                   r"DS\[mx\.dnl\.example\.net\]"),
    "masquerade": ("sendmail_mc", dict(masquerade_as="example.org"), "MASQUERADE_AS(", r"DMexample\.org"),
}

# Refusals the corpus expects: (file name, task) -> what the message must say.
EXPECTED_REFUSALS = {
    # FreeBSD's IPv6 daemon listens on [::]:25 already; a second one on [::1]:25 cannot bind.
    ("freebsd.mc", "daemon-v6"): "cannot bind",
}

# Tasks that make no sense for a file (submit.mc is the mail submission program: no daemon).
SKIPPED = {("submit.mc", "daemon-v6")}


def _case_id(path):
    return f"{path.parent.name}/{path.name}"


MC_CASES = [pytest.param(path, task, id=f"{_case_id(path)}:{task}")
            for path in MC_FILES for task in MC_TASKS if (path.name, task) not in SKIPPED]


# --- namespaces ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def netns():
    name = f"dsmta-corpus-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)


@pytest.fixture(scope="session")
def macro_layer(tmp_path_factory):
    """/usr/share as Red Hat and openSUSE have it: sendmail-cf/ and sendmail/{m4,ostype,...}."""
    layer = tmp_path_factory.mktemp("share-layer")
    (layer / "sendmail-cf").symlink_to(CF_DIR)
    (layer / "sendmail").mkdir()
    for entry in CF_DIR.iterdir():
        if entry.name != "cf":
            (layer / "sendmail" / entry.name).symlink_to(entry)
    return layer


# Queue directories the stock files name (sendmail -bC changes into them): a private /var/spool holds
# them, so the test does not depend on which of them the machine running it has.
QUEUE_DIRS = ("mqueue", "clientmqueue", "mqueue-client")


def in_sendmail_ns(netns, layer, command):
    script = ('mount --make-rprivate / && mount -t overlay overlay -o lowerdir="$0":/usr/share /usr/share '
              '&& mount -t tmpfs tmpfs /var/spool && mkdir -p {} '
              '&& hostname {} && exec "$@"'.format(" ".join("/var/spool/" + d for d in QUEUE_DIRS), HOSTNAME))
    return ["ip", "netns", "exec", netns, "unshare", "--uts", "--mount", "--", "sh", "-c", script, str(layer)] + list(
        command)


def run(command, **kwargs):
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, LC_ALL="C", PYTHONPATH=str(COLLECTIONS)), **kwargs)


def run_module(wrap, tmp_path, module, check_mode=False, **args):
    args_file = tmp_path / f"args-{time.monotonic_ns()}.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check_mode)}))
    done = run(wrap([sys.executable, str(REPO / "plugins" / "modules" / (module + ".py")), str(args_file)]))
    try:
        return json.loads(done.stdout)
    except ValueError:
        pytest.fail(f"no module result from {module} (rc={done.returncode}):\n{done.stdout}\n{done.stderr}")


# --- placing a file as its system has it -----------------------------------------------------

def place_mc(source, tmp_path):
    """Copy ``source`` where its system keeps it; return the path the module edits."""
    if source.parent.name == "slackware":
        # Built in place inside the macro tree: include(`../m4/cf.m4') resolves against it.
        tree = tmp_path / "share-sendmail-cf"
        (tree / "cf").mkdir(parents=True)
        for entry in CF_DIR.iterdir():
            if entry.name != "cf":
                (tree / entry.name).symlink_to(entry)
        target = tree / "cf" / source.name
    else:
        (tmp_path / "etc-mail").mkdir()
        target = tmp_path / "etc-mail" / source.name
        for extra in source.parent.glob("*.m4"):  # site macros included by relative name
            shutil.copyfile(extra, target.parent / extra.name)
    shutil.copyfile(source, target)
    return target


def build(wrap, mc):
    """m4 as the file's system runs it; returns (rc, cf, stderr lines without the path)."""
    text = mc.read_text()
    if re.search(r"^[ \t]*include\([^)\n]*cf\.m4", text, re.MULTILINE):
        command = [M4, str(mc)]
    else:  # FreeBSD's Makefile
        command = [M4, f"-D_CF_DIR_={CF_DIR}/", str(CF_DIR / "m4" / "cf.m4"), str(mc)]
    done = run(wrap(command), cwd=str(mc.parent))
    messages = re.sub(r":[0-9]+:", ":LINE:", done.stderr.replace(str(mc), "FILE"))
    return done.returncode, done.stdout, sorted(set(messages.splitlines()) - {""})


def bc(wrap, cf_text, tmp_path, name):
    cf = tmp_path / name
    cf.write_text(cf_text)
    done = run(wrap([SENDMAIL, "-C", str(cf), "-bC"]))
    return done.returncode, sorted(set((done.stdout + done.stderr).replace(str(cf), "CF").splitlines()) - {""})


def changed_lines(before, after):
    """Lines removed or added, ignoring a newline added to a last line that had none."""
    lines = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        lines.append(line)
    return lines


# --- sendmail modules ------------------------------------------------------------------------

@pytest.mark.parametrize("source, task", MC_CASES)
def test_sendmail_module_on_real_file(netns, macro_layer, tmp_path, source, task):
    module, args, touches, cf_line = MC_TASKS[task]

    def wrap(command):
        return in_sendmail_ns(netns, macro_layer, command)

    mc = place_mc(source, tmp_path)
    original = mc.read_text()
    rc, original_cf, original_m4 = build(wrap, mc)
    assert rc == 0, f"the corpus file itself does not build: {original_m4}"
    rc, original_bc = bc(wrap, original_cf, tmp_path, "original.cf")
    assert rc == 0, f"the corpus file itself fails sendmail -bC: {original_bc}"

    first = run_module(wrap, tmp_path, module, path=str(mc), **args)
    expected_refusal = EXPECTED_REFUSALS.get((source.name, task))
    if expected_refusal is not None:
        assert first.get("failed") and expected_refusal in first["msg"], first
        assert mc.read_text() == original
        return
    assert first.get("changed") and not first.get("failed"), first.get("msg", first)

    second = run_module(wrap, tmp_path, module, path=str(mc), **args)
    assert not second.get("failed") and second["changed"] is False, second

    after = mc.read_text()
    stray = [line for line in changed_lines(original, after) if touches not in line]
    assert stray == [], "lines the task does not concern changed:\n{}".format("\n".join(stray))

    rc, cf_text, m4_messages = build(wrap, mc)
    assert rc == 0 and set(m4_messages) <= set(original_m4), m4_messages
    if cf_line is not None:
        assert any(re.fullmatch(cf_line, line) for line in cf_text.splitlines()), cf_line
    rc, bc_messages = bc(wrap, cf_text, tmp_path, "changed.cf")
    assert rc == 0 and set(bc_messages) <= set(original_bc), bc_messages


# --- postfix ---------------------------------------------------------------------------------

POSTCONF_TASKS = {
    "protocols": (dict(name="inet_protocols", value="all"), "inet_protocols"),
    "interfaces": (dict(name="inet_interfaces", value="127.0.0.1, [::1]"), "inet_interfaces"),
    "networks": (dict(name="mynetworks", value="127.0.0.0/8 [::1]/128 [2001:db8:25::]/64"), "mynetworks"),
    "bind6": (dict(parameters={"inet_protocols": "all", "smtp_bind_address6": "::1"}),
              ("inet_protocols", "smtp_bind_address6")),
}


@pytest.fixture(scope="session")
def postfix_root():
    """Debian's postfix package, unpacked once and kept under .cache/corpus."""
    root = CACHE / "postfix-root"
    if not (root / "usr" / "sbin" / "postconf").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        download = CACHE / "download"
        download.mkdir(exist_ok=True)
        done = run(["apt-get", "download", "postfix"], cwd=str(download))
        debs = sorted(download.glob("postfix_*.deb"))
        if not debs:
            pytest.skip(f"postfix could not be downloaded: {done.stderr.strip()}")
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run(["dpkg", "-x", str(debs[-1]), str(root)], check=True, timeout=120)
    return root


@pytest.fixture(scope="session")
def postfix_layers(postfix_root, tmp_path_factory):
    """/usr, /etc and /var/spool for a host with postfix installed (Debian's and Red Hat's paths)."""
    base = tmp_path_factory.mktemp("postfix-layers")
    usr = base / "usr"
    (usr / "libexec").mkdir(parents=True)
    (usr / "libexec" / "postfix").symlink_to("/usr/lib/postfix/sbin")  # Red Hat's daemon_directory
    (usr / "lib64").mkdir()
    (usr / "lib64" / "postfix").symlink_to("/usr/lib/postfix")  # Red Hat's shlib_directory
    etc = base / "etc"
    (etc / "postfix").mkdir(parents=True)
    shutil.copytree(postfix_root / "etc" / "postfix", etc / "postfix", dirs_exist_ok=True)
    with open("/etc/passwd") as handle:
        (etc / "passwd").write_text(handle.read() + "postfix:x:990:990::/var/spool/postfix:/usr/sbin/nologin\n")
    with open("/etc/group") as handle:
        (etc / "group").write_text(handle.read() + "postfix:x:990:\npostdrop:x:991:\n")
    (etc / "mailname").write_text(HOSTNAME + "\n")  # Debian's myorigin names it
    spool = base / "spool"
    (spool / "postfix").mkdir(parents=True)
    var_lib = base / "var-lib"
    (var_lib / "postfix").mkdir(parents=True)
    return dict(usr=usr, root_usr=postfix_root / "usr", etc=etc, spool=spool, var_lib=var_lib)


def in_postfix_ns(netns, layers, command):
    script = ('mount --make-rprivate / '
              '&& mount -t overlay overlay -o lowerdir="$1":"$2":/usr /usr '
              '&& mount -t overlay overlay -o lowerdir="$3":/etc /etc '
              '&& mount --bind "$4" /var/spool && mount --bind "$5" /var/lib '
              f'&& hostname {HOSTNAME} && shift 5 && exec "$@"')
    return (["ip", "netns", "exec", netns, "unshare", "--uts", "--mount", "--", "sh", "-c", script, "sh",
             str(layers["usr"]), str(layers["root_usr"]), str(layers["etc"]), str(layers["spool"]),
             str(layers["var_lib"])] + list(command))


# A hand-kept main.cf with inet_protocols = ipv4 cannot listen on [::1]: refused, and the message says why.
EXPECTED_POSTCONF_REFUSALS = {
    ("hand-main.cf", "interfaces"): "inet_protocols is ipv4",
}

# Messages a task brings about by what it was asked to do: the new mynetworks value no longer
# refers to ${extra_networks}, so postfix reports that parameter unused (the module does not warn).
EXPECTED_NEW_MESSAGES = {
    ("hand-main.cf", "networks"): {"/usr/sbin/postconf: warning: CONFIG/main.cf: unused parameter: "
                                   "extra_networks=198.51.100.0/24"},
}

POSTFIX_CASES = [pytest.param(path, task, id=f"{_case_id(path)}:{task}")
                 for path in MAIN_CF_FILES for task in POSTCONF_TASKS]


@pytest.mark.parametrize("source, task", POSTFIX_CASES)
def test_postconf_on_real_main_cf(netns, postfix_layers, tmp_path, source, task):
    args, touches = POSTCONF_TASKS[task]
    touches = (touches,) if isinstance(touches, str) else touches

    def wrap(command):
        return in_postfix_ns(netns, postfix_layers, command)

    config = tmp_path / "postfix"
    config.mkdir()
    shutil.copyfile(source, config / "main.cf")
    shutil.copyfile(postfix_layers["root_usr"] / "share" / "postfix" / "master.cf.dist", config / "master.cf")
    original = (config / "main.cf").read_text()
    check = run(wrap(["postfix", "-c", str(config), "check"]))
    assert check.returncode == 0, f"the corpus file itself fails postfix check: {check.stderr}"
    original_messages = _messages(check.stderr, config)

    first = run_module(wrap, tmp_path, "postconf", config_dir=str(config), **args)
    expected_refusal = EXPECTED_POSTCONF_REFUSALS.get((source.name, task))
    if expected_refusal is not None:
        assert first.get("failed") and expected_refusal in first["msg"], first
        assert (config / "main.cf").read_text() == original
        return
    assert not first.get("failed"), first.get("msg", first)
    wanted = args.get("parameters") or {args["name"]: args["value"]}
    already = all(re.search(rf"^{re.escape(name)}[ \t]*=[ \t]*{re.escape(value)}[ \t]*$", original, re.MULTILINE)
                  for name, value in wanted.items())
    assert first["changed"] is not already, first
    second = run_module(wrap, tmp_path, "postconf", config_dir=str(config), **args)
    assert not second.get("failed") and second["changed"] is False, second

    after = (config / "main.cf").read_text()
    # A changed parameter may span continuation lines: attribute each to the parameter it belongs to.
    stray = []
    for line in changed_lines(original, after):
        body = line[1:]
        if body[:1] in (" ", "\t") or not body.strip():
            continue
        if body.split("=", 1)[0].strip() not in touches:
            stray.append(line)
    assert stray == [], "lines the task does not concern changed:\n{}".format("\n".join(stray))
    unchanged_names = _parameter_names(original) - set(touches)
    assert {name: _value(after, name) for name in unchanged_names} == \
        {name: _value(original, name) for name in unchanged_names}

    check = run(wrap(["postfix", "-c", str(config), "check"]))
    new = _messages(check.stderr, config) - original_messages - EXPECTED_NEW_MESSAGES.get((source.name, task), set())
    assert check.returncode == 0 and not new, check.stderr


def _messages(stderr, config):
    return set(re.sub(r"line [0-9]+", "line N", stderr.replace(str(config), "CONFIG")).splitlines()) - {""}


def _parameter_names(text):
    return {match.group(1) for match in re.finditer(r"^([A-Za-z0-9_]+)[ \t]*=", text, re.MULTILINE)}


def _value(text, name):
    """The raw text of every definition of ``name``, continuation lines included."""
    values = []
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if re.match(rf"{re.escape(name)}[ \t]*=", line):
            value = [line]
            for following in lines[index + 1:]:
                if following[:1] in (" ", "\t") and following.strip() and not following.lstrip().startswith("#"):
                    value.append(following)
                else:
                    break
            values.append("\n".join(value))
    return values
