# shellcheck shell=bash
# Sourced by tests/sanity/run and tests/unit/pythons: what both need to run ansible-test.
#   ansible_test_copy NAME  a fresh copy of the checkout where ansible-test wants a collection
#                           (.cache/NAME/ansible_collections/dualstack/mta), and cd into it
#   other_pythons           the Pythons besides this one that ansible-test runs module-side
#                           tests with and this machine has; put on PATH as pythonX.Y
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ansible-test bootstraps pip in its test venvs with a script it downloads from its own CI host, which these machines cannot reach; a stand-in using ensurepip and PyPI does the same.
pip_version=$(python - <<'PY'
import inspect
import re
from ansible_test._internal import python_requirements
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(python_requirements.get_venv_packages)).group(1))
PY
)
stand_in=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -e "$stand_in" ]; then
    mkdir -p "$(dirname "$stand_in")"
    cat >"$stand_in" <<'PY'
"""Stand-in for get-pip.py: pip from ensurepip, then the requested packages from PyPI."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
fi

ansible_test_copy() {
    local work=$top/.cache/$1/ansible_collections/dualstack/mta
    rm -rf "$work"
    mkdir -p "$work"
    (cd "$top" && git ls-files -z --cached --others --exclude-standard \
        | tar --null --ignore-failed-read -T - -c 2>/dev/null) | tar -x -C "$work"
    cd "$work"
    git init -q && git add -A >/dev/null
}

# Every Python version ansible-test supports (the managed-host range of this ansible-core), other
# than the one running it. An interpreter counts if pythonX.Y on PATH runs (a pyenv shim for a
# version that is installed but not selected does not), else pyenv's newest X.Y.* build.
# Sets pythons to the versions found, links them into a folder put first on PATH, and names the
# ones missing on stderr.
other_pythons() {
    local bin=$top/.cache/pythons this version candidate missing=()
    pythons=()
    rm -rf "$bin"
    mkdir -p "$bin"
    this=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    for version in $(python -c 'from ansible_test._util.target.common.constants import REMOTE_ONLY_PYTHON_VERSIONS as r, CONTROLLER_PYTHON_VERSIONS as c; print(*r, *c)'); do
        [ "$version" = "$this" ] && continue
        if command -v "python$version" >/dev/null && "python$version" -c '' 2>/dev/null; then
            candidate=$(command -v "python$version")
        else
            candidate=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/"python$version" 2>/dev/null | sort -V | tail -n 1)
        fi
        if [ -n "$candidate" ] && "$candidate" -c '' 2>/dev/null; then
            ln -s "$candidate" "$bin/python$version"
            pythons+=("$version")
        else
            missing+=("$version")
        fi
    done
    export PATH=$bin:$PATH
    if [ ${#missing[@]} -gt 0 ]; then
        echo "No interpreter here for Python ${missing[*]}: nothing is tested on it." >&2
    fi
}
