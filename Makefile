# The two README commands: `make demo` and `make test`.
# Both create .venv when it is missing and install what they need through pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-all-dev
PYTEST_ARGS ?=

.PHONY: demo demo-quick study study-quick test test-fast lint typecheck docs install dist clean transformers-4.57 test-deepspeed test-xla test-floors test-pythons

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when pyproject.toml changes. docs (Sphinx) is installed here, not through all or dev:
# Sphinx 9 needs Python 3.11 and make test-floors runs 3.10 (pyproject.toml).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,dev,docs]'
	touch $@

install: $(STAMP)

# The lab lives beside the package (examples/warmup_ablation, benchmarks/warmup_study) and imports
# it like any user; these targets put its folders on PYTHONPATH.
LAB := PYTHONPATH=$(CURDIR)/examples:$(CURDIR)/benchmarks

# The paper's warmup ablation (about 8.5 minutes on 2 CPU cores, one torch thread); writes runs/demo/.
demo: $(STAMP)
	$(LAB) $(BIN)/python -m warmup_ablation --out runs/demo

# The same, one seed and 150 steps (92 s measured, one thread, idle machine); writes runs/demo-quick/.
demo-quick: $(STAMP)
	$(LAB) $(BIN)/python -m warmup_ablation --quick --out runs/demo-quick

# The warmup study on real data (docs/evidence.md, docs/decision.md; about 80 minutes measured on
# the 2-core machine); writes runs/study/.
# Re-running resumes: only the runs missing from runs/study/study_results.json run. By parts:
# `make study TASKS=digits`, then `make study TASKS=bytes_lm,reversal` into the same results file.
study: $(STAMP)
	$(LAB) $(BIN)/python -m warmup_study --out runs/study $(if $(TASKS),--tasks $(TASKS))

# Every task and arm for 30 steps, one seed (54 s measured, idle machine); writes runs/study-quick/.
study-quick: $(STAMP)
	$(LAB) $(BIN)/python -m warmup_study --quick --out runs/study-quick

lint: $(STAMP)
	$(BIN)/ruff check .

# mypy over the package ([tool.mypy] in pyproject.toml says how strict, and why). Its cache in
# .mypy_cache makes a warm run under a second; a cold one took 15 s on 2 idle cores (26 s under load).
typecheck: $(STAMP)
	$(BIN)/mypy radam_integrations

# The docs site in docs/_build/html (docs/conf.py); warnings are errors. tests/test_docs.py builds it
# the same way (so make test does), and runs every python block of docs/*.md.
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# transformers 4.57 is tested too, from a side install (transformers is pure Python) that a test puts
# first on PYTHONPATH in a subprocess. 4.57.6 needs huggingface_hub<1.0 and tokenizers<=0.23.0, which
# the venv's transformers 5 does not use, and requests; the rest (numpy, safetensors, regex, ...) comes
# from the venv. tests/test_integration_transformers.py reads HF457_PINS from here.
HF457_DIR   := .cache/transformers-4.57
HF457_PINS  := transformers==4.57.6 huggingface_hub==0.36.2 tokenizers==0.22.2 requests==2.32.5 urllib3==2.6.3 charset-normalizer==3.4.4 certifi==2026.1.4
HF457_STAMP := $(HF457_DIR)/.installed

$(HF457_STAMP): Makefile | $(BIN)/python
	rm -rf $(HF457_DIR)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --target $(HF457_DIR) --no-deps $(HF457_PINS)
	echo $(HF457_PINS) > $@

transformers-4.57: $(HF457_STAMP)

# The inner loop (about a minute): unit and property tests and doctests; no process launches, no
# framework training loops (tests/conftest.py fails a test of this tier that does either).
FAST_MARKERS := not slow and not distributed and not process and not fit

test-fast: lint typecheck
	RADAM_TEST_TIER=fast $(BIN)/python -m pytest -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

# Everything: the fast tier, framework fits, process launches, two-process runs, DeepSpeed.
test: lint typecheck transformers-4.57
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-deepspeed

# DeepSpeed ZeRO 1/2/3 on CPU, in a venv of its own (DeepSpeed pins and patches more than we want in
# .venv). It reuses .venv's packages through a .pth file, so torch is not installed twice; the first
# run builds DeepSpeed's CPU Adam extension. `make test` runs it after the main suite (about 2 minutes).
DS_VENV  := .venv-deepspeed
DS_STAMP := $(DS_VENV)/.installed

$(DS_STAMP): $(STAMP)
	$(PYTHON) -m venv $(DS_VENV)
	$(BIN)/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" \
		> "$$($(DS_VENV)/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/_radam_main_venv.pth"
	$(DS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check deepspeed==0.19.8
	touch $@

test-deepspeed: $(DS_STAMP)
	PYTHONPATH=$(CURDIR) $(DS_VENV)/bin/python -m pytest -m deepspeed tests/test_deepspeed.py tests/test_deepspeed_arguments.py $(PYTEST_ARGS)

# XLA on the CPU (PJRT_DEVICE=CPU), single process: torch_xla 2.9 needs torch 2.9, so this venv is
# separate and large (about 7 GB). Not part of `make test`.
XLA_VENV  := .venv-xla
XLA_STAMP := $(XLA_VENV)/.installed

$(XLA_STAMP):
	$(PYTHON) -m venv $(XLA_VENV)
	$(XLA_VENV)/bin/python -m pip install --quiet --disable-pip-version-check torch==2.9.0 torch_xla==2.9.0 pytest
	touch $@

test-xla: $(XLA_STAMP)
	PJRT_DEVICE=CPU PYTHONPATH=$(CURDIR) $(XLA_VENV)/bin/python -m pytest -m xla tests/test_xla.py $(PYTEST_ARGS)

# ---------------------------------------------------------------------- supported versions
# Opt-in, not part of `make test`: each venv downloads torch from PyPI (a CUDA build, several GB).
# Measured on a shared 2-core machine (load 3-4): test-floors 7 min and 3.1 GB of downloads the
# first time (a 5.4 GB venv), 3.5-7 min after; test-pythons 16 min and 2.1 GB the first time (two
# 6 GB venvs), about 12 min after. Delete a venv to rebuild it (test-pythons then takes the newest
# releases again).
FAST := not slow and not distributed and not deepspeed and not xla
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null)
# The newest pyenv X.Y.* if there is one, else a working pythonX.Y on PATH, else nothing.
find_python = $(or $(lastword $(sort $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)))),$(shell \
	python$(1) -c "import sys; print(sys.executable)" 2>/dev/null))

# The floors: the oldest Python that requires-python allows, with every lower bound in pyproject.toml
# installed exactly. tools/floors.py turns pyproject's `>=` bounds into the constraints (pyproject is
# the one source of truth) and checks afterwards that the venv holds exactly those versions.
FLOORS_VENV  := .venv-floors
FLOORS_STAMP := $(FLOORS_VENV)/.installed
FLOORS_PYVER  = $(shell $(PYTHON) tools/floors.py python)
FLOORS_PY     = $(call find_python,$(FLOORS_PYVER))

$(FLOORS_STAMP): pyproject.toml tools/floors.py
	@test -n "$(FLOORS_PY)" || echo "NOTE: Python $(FLOORS_PYVER) not found; using $(PYTHON) for the floors"
	test -x $(FLOORS_VENV)/bin/python || $(or $(FLOORS_PY),$(PYTHON)) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(FLOORS_VENV)/bin/python tools/floors.py constraints > $(FLOORS_VENV)/constraints.txt
	$(FLOORS_VENV)/bin/python -m pip install --quiet -c $(FLOORS_VENV)/constraints.txt -e '.[all,dev]'
	$(FLOORS_VENV)/bin/python tools/floors.py check
	touch $@

test-floors: $(FLOORS_STAMP)
	$(FLOORS_VENV)/bin/python tools/floors.py check
	$(FLOORS_VENV)/bin/python -m pytest -m "$(FAST)" $(PYTEST_ARGS)

# The newest Pythons, each in its own venv with the newest allowed versions of everything.
NEW_PYTHONS := 3.12 3.13
NEW_VENVS   := $(foreach v,$(NEW_PYTHONS),.venv-py$(subst .,,$(v)))
$(foreach v,$(NEW_PYTHONS),$(eval .venv-py$(subst .,,$(v))/.installed: PYVER := $(v)))

.venv-py%/.installed: pyproject.toml
	@test -n "$(call find_python,$(PYVER))" || { echo "Python $(PYVER) not found (pyenv install $(PYVER))"; exit 1; }
	test -x $(@D)/bin/python || $(call find_python,$(PYVER)) -m venv $(@D)
	$(@D)/bin/python -m pip install --quiet --upgrade pip
	$(@D)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[all,dev]'
	touch $@

test-pythons: $(foreach d,$(NEW_VENVS),$(d)/.installed)
	@status=0; for d in $(NEW_VENVS); do \
		echo "== $$d: $$($$d/bin/python --version)"; \
		$$d/bin/python -m pytest -m "$(FAST)" $(PYTEST_ARGS) || status=1; \
	done; exit $$status

# The sdist and the wheel in dist/, as they would be published: `python -m build` builds them in an
# isolated environment (it installs [build-system] requires from the package index), `twine check
# --strict` checks their metadata, then their contents are listed. The wheel holds radam_integrations/
# only; tests/test_wheel.py installs one into a venv with only torch and runs it from there.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .
	$(BIN)/twine check --strict dist/*
	$(BIN)/python -m zipfile -l dist/*.whl
	tar -tzf dist/*.tar.gz

clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info runs lightning_logs
