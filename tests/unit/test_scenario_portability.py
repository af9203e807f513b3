# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scenarios the workflow runs on EL images contain no unguarded Debian-only step.

No EL image can be reached from the test bed, so the EL jobs of .github/workflows/molecule.yml
run only in users' CI. This test reads that workflow for the scenarios its EL jobs run, then every
file of those scenarios (molecule.yml, the playbooks it names and what they import or include,
files and templates, the testinfra tests and molecule/conftest.py), and fails on a Debian-only
step that no ``os_family == 'Debian'`` condition guards: the apt, dpkg and debconf modules and
commands, Debian's paths, and a literal ``python3`` where the scenario's interpreter belongs.
``make lint`` validates the workflow itself against GitHub's workflow schema.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "molecule.yml"
MOLECULE = REPO / "molecule"

# What the EL jobs must cover, whatever else they run.
EL_REQUIRED = {"sendmail_dual_stack", "postfix_dual_stack", "outbound_bind", "outbound_snat"}

DEBIAN_MODULES = {"apt", "apt_key", "apt_repository", "dpkg_selections", "debconf"}

# Debian-only commands, packages and paths, each with what it is.
DEBIAN_ONLY = [
    (re.compile(r"\bapt(-get|-cache|-mark)?\s+(-\S+\s+)*(install|update|remove|purge|download)\b"), "apt command"),
    (re.compile(r"\bdpkg(-divert|-query|-reconfigure|-statoverride)?\b"), "dpkg"),
    (re.compile(r"\bdebconf(-set-selections)?\b"), "debconf"),
    (re.compile(r"/usr/share/sendmail/"), "Debian's sendmail macro path (Red Hat: /usr/share/sendmail-cf)"),
    (re.compile(r"/etc/default/"), "Debian's /etc/default"),
    (re.compile(r"/usr/sbin/sendmail-(mta|msp)\b|\bsendmailconfig\b"), "a sendmail helper only Debian ships"),
    (re.compile(r"\bsensible-mda\b"), "sensible-mda (Debian only)"),
    (re.compile(r"/run/sendmail/mta/"), "Debian's sendmail PID file"),
    (re.compile(r"\bsendmail-bin\b"), "Debian's sendmail package name"),
    (re.compile(r"\bpython3-dnspython\b"), "Debian's dnspython package name (Red Hat: python3-dns)"),
    (re.compile(r"\b(netfilter|iptables)-persistent\b|/etc/iptables/rules\.v[46]"), "Debian's saved-rules service"),
    (re.compile(r"\biptables-legacy\b|\bip6tables-legacy\b"), "the legacy iptables backend (not on EL9)"),
    (re.compile(r"/etc/bind/|\bbind9\b"), "Debian's BIND paths and package"),
]
# A literal python3 (not python3.11, not python3-foo, not a path component of a longer name).
PYTHON3 = re.compile(r"(?<![\w.$/-])(/usr/bin/)?python3(?![\w.-])")
# The interpreter line every scenario's molecule.yml must have.
INTERPRETER = re.compile(r"^\$\{DUALSTACK_TESTBED_PYTHON(:-[^}]*)?\}$")

# A condition that restricts a task to Debian (== or in, never !=).
DEBIAN_GUARD = re.compile(r"os_family['\"\]]*\s*(==\s*['\"]Debian['\"]|in\s*\[\s*['\"]Debian['\"]\s*\])")
# The same in a template: {% if ...os_family... == 'Debian' %} up to its else/elif/endif.
TEMPLATE_GUARD = re.compile(
    r"\{%-?\s*if\s[^%]*os_family[^%]*==\s*['\"]Debian['\"][^%]*%\}.*?(?=\{%-?\s*(else|elif|endif)\b)", re.S)


@dataclass(frozen=True)
class Finding:
    path: str
    where: str
    what: str

    def __str__(self):
        return f"{self.path}: {self.where}: {self.what}"


# --- the workflow -------------------------------------------------------------------------------

def workflow():
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def el_scenarios(data=None) -> dict[str, list[str]]:
    """EL job name -> the scenarios it runs: the matrix entries with an EL base image.

    An entry's own ``scenarios`` wins over the job's ``EL_SCENARIOS``.
    """
    data = data or workflow()
    found = {}
    for job in data["jobs"].values():
        env = job.get("env", {})
        default = env.get("EL_SCENARIOS", env.get("SCENARIOS", "")).split()
        for entry in job.get("strategy", {}).get("matrix", {}).get("include", []):
            if entry.get("base"):
                found[entry["name"]] = entry.get("scenarios", "").split() or default
    return found


# --- what a scenario is made of -----------------------------------------------------------------

def _load_yaml(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _resolve(name, *bases):
    for base in bases:
        candidate = (base / name).resolve()
        if candidate.is_file():
            return candidate
    return None


def _references(data, path, scenario_dir):
    """Playbooks, task files, files and templates a playbook or task file names, as paths."""
    found = set()
    here = path.parent
    for node in _walk(data):
        if not isinstance(node, dict):
            continue
        targets = [_vars_file(name, here) for name in node.get("vars_files") or []]
        targets += [_reference(key, value, here, scenario_dir) for key, value in node.items()]
        found.update(target for target in targets if target is not None)
    return found


def _vars_file(name, here):
    """One vars_files entry as a path; None when it is templated or not there."""
    return None if not isinstance(name, str) or "{{" in name else _resolve(name, here)


def _reference(key, value, here, scenario_dir):
    """The file one keyword of a play or task names, as a path; None for any other keyword."""
    if not isinstance(value, (str, dict)):
        return None
    short = key.split(".")[-1]
    if short in ("copy", "template"):
        src = value.get("src") if isinstance(value, dict) else None
        return _source(short, src, here, scenario_dir) if isinstance(src, str) else None
    name = value.get("file") if isinstance(value, dict) else value
    if not isinstance(name, str) or "{{" in name:
        return None
    if short == "import_playbook":
        return _resolve(name, here)
    if short == "include_vars":
        return _resolve(name, here / "vars", here)
    if short in ("include_tasks", "import_tasks"):
        return _resolve(name, here, scenario_dir)
    return None


def _source(short, src, here, scenario_dir):
    """A copy's or template's src, looked for in files/ or templates/ as Ansible does."""
    sub = "templates" if short == "template" else "files"
    return None if "{{" in src else _resolve(src, here / sub, scenario_dir / sub, here)


def scenario_files(scenario: str) -> set[Path]:
    """Every file of a scenario, with the playbooks, tasks, files and templates they reach."""
    directory = MOLECULE / scenario
    config = _load_yaml(directory / "molecule.yml")
    todo = {directory / "molecule.yml", MOLECULE / "conftest.py"}
    todo |= {p for p in directory.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".py", ".j2", ".mc", ".cf")}
    for name in (config.get("provisioner", {}).get("playbooks") or {}).values():
        target = _resolve(name, directory)
        if target is not None:
            todo.add(target)
    # Playbooks inside the scenario directory are taken as they are; others only as referenced.
    for default in ("converge.yml", "prepare.yml", "side_effect.yml", "verify.yml"):
        if (directory / default).is_file():
            todo.add(directory / default)
    seen = set()
    while todo:
        path = todo.pop().resolve()
        if path in seen:
            continue
        seen.add(path)
        if path.suffix in (".yml", ".yaml") and path.name != "molecule.yml":
            todo |= _references(_load_yaml(path), path, directory) - seen
    return seen


# --- the checks ---------------------------------------------------------------------------------

def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _guarded(node) -> bool:
    if not isinstance(node, dict):
        return False
    when = node.get("when")
    conditions = when if isinstance(when, list) else [when]
    return any(isinstance(c, str) and DEBIAN_GUARD.search(c) for c in conditions)


def _text_findings(text):
    """(what, match) for every Debian-only command, package or path in text."""
    for pattern, what in DEBIAN_ONLY:
        for match in pattern.finditer(text):
            yield what, match.group(0)


def _yaml_findings(node, where, path, item=False):
    """Findings in a YAML tree; a task's or play's name is prose, and labels what is under it."""
    if isinstance(node, dict):
        yield from _mapping_findings(node, where, path, item)
    elif isinstance(node, list):
        for value in node:
            yield from _yaml_findings(value, where, path, item=True)
    elif isinstance(node, str):
        yield from _string_findings(node, where or "top", path)


def _mapping_findings(node, where, path, item):
    """Findings in a mapping no Debian condition guards; ``item`` says it is a list's item (a task or play)."""
    if _guarded(node):
        return
    prose = item and isinstance(node.get("name"), str)
    if prose:
        where = f"{where} > {node['name']}" if where else node["name"]
    for key, value in node.items():
        if key == "Debian":  # a per-family mapping: the Debian values are Debian's
            continue
        if prose and key == "name":
            continue
        if isinstance(key, str) and key.split(".")[-1] in DEBIAN_MODULES:
            yield Finding(path, where or "top", f"the {key} module")
        yield from _yaml_findings(value, where, path)


def _string_findings(text, where, path):
    """Findings in one YAML string: Debian-only commands, packages and paths, and a literal python3."""
    for what, match in _text_findings(text):
        yield Finding(path, where, f"{what} ({match!r})")
    if PYTHON3.search(text):
        yield Finding(path, where, f"literal python3 ({text!r}): use the scenario's interpreter")


def _molecule_findings(path, rel):
    data = _load_yaml(path)
    env = (data.get("provisioner") or {}).get("env") or {}
    interpreter = env.get("ANSIBLE_PYTHON_INTERPRETER")
    if not isinstance(interpreter, str) or not INTERPRETER.match(interpreter):
        yield Finding(rel, "provisioner.env", "ANSIBLE_PYTHON_INTERPRETER must come from ${DUALSTACK_TESTBED_PYTHON}, "
                      f"not {interpreter!r}")
    rest = dict(data)
    rest["provisioner"] = {k: v for k, v in (data.get("provisioner") or {}).items() if k != "env"}
    yield from _yaml_findings(rest, "", rel)


def _python_findings(path, rel):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    module_guarded = _module_guarded(tree, source)
    guarded_lines = _guarded_lines(tree, source)
    debian_values = _debian_values(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if module_guarded or node.lineno in guarded_lines or id(node) in debian_values:
                continue
            if isinstance(node, ast.Constant) and _is_docstring(tree, node):
                continue
            for what, match in _text_findings(node.value):
                yield Finding(rel, f"line {node.lineno}", f"{what} ({match!r})")
            if PYTHON3.search(node.value):
                yield Finding(rel, f"line {node.lineno}", "literal python3: use the scenario's interpreter")


def _module_guarded(tree, source):
    """Whether a module-level pytestmark asks os_family, which guards the whole file."""
    return any(
        isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)
        and "os_family" in ast.get_source_segment(source, node)
        for node in tree.body)


def _guarded_lines(tree, source):
    """The lines of every function that asks os_family (decorators included): strings there are guarded."""
    guarded_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            text = "\n".join(source.splitlines()[first - 1:node.end_lineno])
            if "os_family" in text:
                guarded_lines.update(range(first, node.end_lineno + 1))
    return guarded_lines


def _debian_values(tree):
    """The ids of the nodes under a "Debian" key of a per-family mapping: they are Debian's."""
    debian_values = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "Debian":
                    debian_values.update(id(inner) for inner in ast.walk(value))
    return debian_values


def _is_docstring(tree, constant):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and first.value is constant:
                return True
    return False


def _file_findings(path, rel):
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".j2":
        text = TEMPLATE_GUARD.sub("", text)
    for number, line in enumerate(text.splitlines(), 1):
        for what, match in _text_findings(line):
            yield Finding(rel, f"line {number}", f"{what} ({match!r})")


def findings(scenario: str) -> list[Finding]:
    found = []
    for path in sorted(scenario_files(scenario)):
        rel = str(path.relative_to(REPO))
        if path.name == "molecule.yml":
            found += _molecule_findings(path, rel)
        elif path.suffix in (".yml", ".yaml"):
            found += _yaml_findings(_load_yaml(path), "", rel)
        elif path.suffix == ".py":
            found += _python_findings(path, rel)
        else:
            found += _file_findings(path, rel)
    return found


# --- tests --------------------------------------------------------------------------------------

def test_the_workflow_names_its_el_jobs_and_their_scenarios():
    jobs = el_scenarios()
    assert jobs, "no EL job in the workflow"
    for name, scenarios in jobs.items():
        assert scenarios, f"{name} runs no scenario"
        missing = [s for s in scenarios if not (MOLECULE / s / "molecule.yml").is_file()]
        assert not missing, f"{name} names scenarios that do not exist: {missing}"
        assert EL_REQUIRED <= set(scenarios), f"{name} lacks {sorted(EL_REQUIRED - set(scenarios))}"


@pytest.mark.parametrize("scenario", sorted({s for ss in el_scenarios().values() for s in ss}))
def test_el_scenario_has_no_unguarded_debian_only_step(scenario):
    found = findings(scenario)
    assert not found, "\n".join(map(str, found))


def test_the_el_scenarios_run_on_every_debian_release_here():
    """Every line of an EL scenario runs on the test bed too: on Debian 11, 12 and 13."""
    text = (REPO / "testbed" / "molecule-all").read_text(encoding="utf-8")
    matrix = re.search(r"^MATRIX=\(([^)]*)\)", text, re.M).group(1).split()
    el = {s for ss in el_scenarios().values() for s in ss}
    assert el <= set(matrix), f"not run on every Debian release: {sorted(el - set(matrix))}"


def test_the_check_finds_what_it_looks_for(tmp_path, monkeypatch):
    """An unguarded apt task, a dpkg-divert command, Debian's cf.m4 and python3 are found; guarded ones not."""
    scenario = tmp_path / "molecule" / "probe"
    (scenario / "files").mkdir(parents=True)
    (scenario / "tests").mkdir()
    (tmp_path / "molecule" / "conftest.py").write_text("")
    (scenario / "molecule.yml").write_text(
        "provisioner:\n  playbooks: {prepare: prepare.yml}\n  env: {ANSIBLE_PYTHON_INTERPRETER: /usr/bin/python3}\n")
    (scenario / "prepare.yml").write_text(
        "- hosts: all\n  tasks:\n"
        "    - name: Unguarded\n      ansible.builtin.apt: {name: sendmail}\n"
        "    - name: Divert\n      ansible.builtin.command: dpkg-divert --add /usr/bin/m4\n"
        "    - name: Guarded\n      when: ansible_facts['os_family'] == 'Debian'\n"
        "      block:\n        - ansible.builtin.apt: {name: sensible-mda}\n"
        "    - name: Other families\n      when: ansible_facts['os_family'] != 'Debian'\n"
        "      ansible.builtin.package: {name: sendmail-bin}\n"
        "    - name: Copy\n      ansible.builtin.copy: {src: stock.mc, dest: /etc/mail/sendmail.mc}\n"
        "    - name: Copy from outside\n      ansible.builtin.copy: {src: ../../stock/other.mc, dest: /etc/mail/other.mc}\n")
    (scenario / "files" / "stock.mc").write_text("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n")
    # A file outside the scenario is read only because a copy names it.
    (tmp_path / "molecule" / "stock").mkdir()
    (tmp_path / "molecule" / "stock" / "other.mc").write_text("include(`/usr/share/sendmail/cf/m4/cf.m4')dnl\n")
    (scenario / "tests" / "test_probe.py").write_text(
        "def test_a(host):\n    host.run('python3 -c pass')\n\n"
        "def test_b(host, os_family):\n    if os_family == 'Debian':\n        host.run('dpkg -l')\n")
    monkeypatch.setattr(sys.modules[__name__], "MOLECULE", tmp_path / "molecule")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    found = [str(f) for f in findings("probe")]
    text = "\n".join(found)
    assert "ANSIBLE_PYTHON_INTERPRETER" in text
    assert "Unguarded: the ansible.builtin.apt module" in text
    assert "Divert: dpkg" in text
    assert "Other families: Debian's sendmail package name" in text
    assert "files/stock.mc: line 1: Debian's sendmail macro path" in text
    assert "stock/other.mc: line 1: Debian's sendmail macro path" in text
    assert "test_probe.py: line 2: literal python3" in text
    assert "Guarded" not in text and "line 6" not in text, text
    assert len(found) == 7, text


def test_todays_red_hat_style_prepare_would_be_found():
    """The check catches what the EL jobs tripped over: apt in a prepare, dpkg-divert around m4."""
    prepare = yaml.safe_load(
        "- hosts: sd-mx2\n  tasks:\n"
        "    - name: Install sendmail without starting it\n"
        "      ansible.builtin.apt: {name: [sendmail-bin, sendmail-cf, m4, make, sensible-mda]}\n"
        "    - name: Move m4 and make aside\n"
        "      ansible.builtin.command:\n"
        "        argv: [dpkg-divert, --local, --rename, --divert, /usr/bin/m4.real, --add, /usr/bin/m4]\n")
    found = [str(f) for f in _yaml_findings(prepare, "", "prepare.yml")]
    assert any("the ansible.builtin.apt module" in f for f in found), found
    assert any("sensible-mda" in f for f in found), found
    assert any("Move m4 and make aside: dpkg" in f for f in found), found


def test_continue_on_error_only_with_its_reason():
    """continue-on-error anywhere in the workflow needs a comment on the line above or beside it."""
    lines = WORKFLOW.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*continue-on-error\s*:", line):
            assert "#" in line or lines[number - 1].strip().startswith("#"), f"line {number + 1}: {line}"
