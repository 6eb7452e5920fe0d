# Developer tasks. Every target installs what it needs into .venv first; a second
# run does not reinstall unless a pyproject, the constraints or dev requirements change.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
STAMP := $(VENV)/.installed
DISTRIBUTIONS := $(patsubst %/,%,$(sort $(dir $(wildcard jepa_core/pyproject.toml jepa_plugins_*/pyproject.toml))))

.PHONY: install test demo bench docs lint clean

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

# The vision digits recipe from its starter config: I-JEPA pretraining on the 8x8
# digits, then the low-shot probe against raw pixels and a random-weight encoder.
demo: install
	rm -rf runs/demo
	$(BIN)/jepa init vision --output runs/demo/vision.yaml
	$(BIN)/jepa train runs/demo/vision.yaml --run-dir runs/demo/vision

docs: install
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

bench: install
	$(BIN)/python benchmarks/run.py

# mypy checks the files named in [tool.mypy] of pyproject.toml (jepa_core and jepa).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache
