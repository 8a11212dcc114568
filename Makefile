# The two README commands: `make demo` and `make test`.
# Both create .venv when it is missing and install what they need through pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-all-dev
PYTEST_ARGS ?=

.PHONY: demo test lint install clean transformers-4.57 test-deepspeed test-xla

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $@

install: $(STAMP)

# The paper's warmup ablation (about 5 minutes on 2 CPU cores); writes runs/demo/.
demo: $(STAMP)
	$(BIN)/radam-integrations demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check .

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

test: lint transformers-4.57
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
	PYTHONPATH=$(CURDIR) $(DS_VENV)/bin/python -m pytest -m deepspeed tests/test_deepspeed.py $(PYTEST_ARGS)

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

clean:
	rm -rf .pytest_cache .ruff_cache build dist *.egg-info runs lightning_logs
