# The two README commands: `make test` and (once the demo lands) `make demo`.
# Both create .venv when it is missing and install what they need through pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-all-dev
PYTEST_ARGS ?=

.PHONY: test lint install clean transformers-4.57

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $@

install: $(STAMP)

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

clean:
	rm -rf .pytest_cache .ruff_cache build dist *.egg-info runs lightning_logs
