PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: chat test lint bench clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/activate

chat: $(BIN)/activate
	$(BIN)/nhsmail-bot chat

test: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/nhsmail-bot kb check
	$(BIN)/python -m pytest -q

bench: $(BIN)/activate
	$(BIN)/python bench/accuracy.py
	$(BIN)/python bench/speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
