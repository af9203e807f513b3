# One place for every check; CI and people both call these targets.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

VENV := .venv
COLLECTIONS := $(CURDIR)/.cache/collections
LINK := $(COLLECTIONS)/ansible_collections/dualstack/mta

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS)
export LC_ALL := C.UTF-8

.PHONY: test demo demo-destroy venv collection host-deps testbed sanity lint unit unit-pythons integration molecule bench clean

test: sanity lint unit integration molecule

$(VENV)/.stamp: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.stamp

# Runtime view of the working tree as an installed collection.
collection: venv
	mkdir -p $(dir $(LINK))
	ln -sfn $(CURDIR) $(LINK)

host-deps:
	testbed/host-deps

testbed: venv host-deps
	testbed/setup

sanity: venv
	tests/sanity/run

# Oldest Python each side runs on, for the ansible-core range in meta/runtime.yml (>=2.18): modules
# and module_utils on the managed host (3.8, ansible-core 2.18's and 2.19's floor there), filters
# and doc fragments on the controller (3.11). vermin exits 1 on anything newer it finds.
TARGET_PYTHON := 3.8
CONTROLLER_PYTHON := 3.11
VERMIN := vermin --no-config-file --no-make-paths-absolute --no-tips --violations

# check-jsonschema validates the workflows against GitHub's schema as it vendors it (no network).
# antsibull-docs checks the markup and option references of every module, filter and role
# (rstcheck of the RST it generates is skipped for speed).
lint: collection
	ruff check plugins tests molecule testbed/bench.py
	python3 tests/lint/annotations.py plugins/module_utils
	$(VERMIN) -t=$(TARGET_PYTHON)- plugins/modules plugins/module_utils
	$(VERMIN) -t=$(CONTROLLER_PYTHON)- plugins/filter plugins/doc_fragments
	ansible-lint --profile production
	antsibull-changelog lint
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	cd $(LINK) && antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck --validate-collection-refs dependent .

unit: collection
	pytest -q tests/unit

# The same tests on the machine's other Pythons from 3.8 on (module side) and 3.11 on (all).
unit-pythons: venv
	tests/unit/pythons

integration: collection host-deps
	pytest -q tests/integration tests/corpus

molecule: collection testbed
	testbed/molecule-all

# A benchmark, not a test: first and no-op converge of each role against a ping floor.
bench: collection testbed
	python3 testbed/bench.py

demo: collection testbed
	ansible-playbook -i testbed/demo/inventory.yml testbed/demo/demo.yml

clean:
	rm -rf .cache tests/output

demo-destroy: venv
	podman rm -f demo-mx1 demo-mx2
