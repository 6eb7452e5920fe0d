# Developer tasks. Every target installs what it needs into .venv first; a second
# run does not reinstall unless a pyproject, the constraints or dev requirements change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
STAMP := $(VENV)/.installed
DISTRIBUTIONS := $(patsubst %/,%,$(sort $(dir $(wildcard jepa_core/pyproject.toml jepa_plugins_*/pyproject.toml))))

.PHONY: install test demo bench lint clean

install: $(STAMP)

$(STAMP): constraints.txt requirements-dev.txt $(addsuffix /pyproject.toml,$(DISTRIBUTIONS))
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt torch
	$(PIP) install --quiet -c constraints.txt -r requirements-dev.txt -e ./jepa_core \
		$(foreach d,$(filter jepa_plugins_%,$(DISTRIBUTIONS)),-e "./$(d)[test]")
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python examples/demo.py

bench: install
	$(BIN)/python benchmarks/run.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
