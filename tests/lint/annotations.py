# Copyright: dualstack.mta contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The annotation rules of the collection's Python that ruff has no rule for.

* A parameter called ``module`` is an ``AnsibleModule`` and says so.
* A container annotation says what it holds: ``dict[str, int]``, not ``dict``.

Usage: annotations.py FILE_OR_DIRECTORY...; prints each finding as path:line: text, exits 1 on any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

# Names that take parameters in an annotation; written bare they say nothing of their content.
GENERIC = {"dict", "list", "tuple", "set", "frozenset", "type", "Dict", "List", "Tuple", "Set", "FrozenSet",
           "Iterable", "Iterator", "Sequence", "Mapping", "Callable", "Type"}


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _bare_generics(annotation: ast.expr) -> list[str]:
    """The generic names in ``annotation`` that are written without parameters."""
    parametrised = {id(node.value) for node in ast.walk(annotation) if isinstance(node, ast.Subscript)}
    found = []
    for node in ast.walk(annotation):
        if isinstance(node, (ast.Name, ast.Attribute)) and id(node) not in parametrised and _name(node) in GENERIC:
            if isinstance(node, ast.Name) or isinstance(node.value, ast.Name):
                found.append(_name(node))
    return found


def _annotation(node: ast.expr | None) -> ast.expr | None:
    """The annotation as an expression, also when it is written as a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    return node


def findings(path: Path) -> list[str]:
    """Every breach of the rules in one Python file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    result = []
    for node in ast.walk(tree):
        annotated: list[tuple[int, ast.expr | None, str]] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            for argument in arguments:
                annotated.append((argument.lineno, argument.annotation, f"parameter {argument.arg} of {node.name}"))
                if argument.arg == "module" and _name(_annotation(argument.annotation) or ast.Name("")) != "AnsibleModule":
                    result.append(f"{path}:{argument.lineno}: parameter module of {node.name} is not annotated AnsibleModule")
            annotated.append((node.lineno, node.returns, f"return of {node.name}"))
        elif isinstance(node, ast.AnnAssign):
            annotated.append((node.lineno, node.annotation, "annotated name"))
        for line, annotation, what in annotated:
            expression = _annotation(annotation)
            for name in _bare_generics(expression) if expression is not None else ():
                result.append(f"{path}:{line}: {what}: {name} without parameters; say what it holds")
    return result


def main(arguments: list[str]) -> int:
    files = []
    for argument in arguments:
        path = Path(argument)
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    problems = [problem for file in files for problem in findings(file)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
