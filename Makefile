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

.PHONY: test demo demo-destroy venv collection host-deps testbed sanity lint unit integration molecule bench clean

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

# antsibull-docs checks the markup and option references of every module, filter and role
# (rstcheck of the RST it generates is skipped for speed).
lint: collection
	ruff check plugins tests molecule testbed/bench.py
	ansible-lint --profile production
	antsibull-changelog lint
	cd $(LINK) && antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck --validate-collection-refs dependent .

unit: collection
	pytest -q tests/unit

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
