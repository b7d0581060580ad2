# The README's two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch first, pinned: on the project's CPU machines pip takes a local CPU wheel; from PyPI this
# pin is the CUDA build. Override, e.g. TORCH_SPEC="torch==2.13.0 --index-url
# https://download.pytorch.org/whl/cpu", or `make TORCH_SPEC=` to keep the torch you have.
TORCH_SPEC ?= torch==2.13.0
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test lint clean

$(VENV)/.base: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(if $(TORCH_SPEC),$(PIP) install $(TORCH_SPEC))
	$(PIP) install -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) install -e ".[dev]"
	touch $@

demo: $(VENV)/.base
	$(VENV)/bin/nasx quickstart --out runs/quickstart --overwrite --runtime torch

test: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n 2 --timeout 900 -m "not interpret"
	TRITON_INTERPRET=1 $(PY) -m pytest -n 2 --timeout 900 -m interpret tests/kernels

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info
