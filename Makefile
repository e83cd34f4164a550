# answerdb — `make demo` and `make test` work on a fresh machine (Python 3.11+, PyPI reachable).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KB := demo-kb
QUESTION := What are the career options related to computer vision?

.PHONY: demo test lint typecheck pytest eval clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/answerdb ingest $(KB) data/demo
	@echo
	$(BIN)/answerdb ask $(KB) "$(QUESTION)"
	@echo
	@echo "Ask more:"
	@echo "  $(BIN)/answerdb ask $(KB) \"How do autoencoders detect anomalies?\""
	@echo "  $(BIN)/answerdb search $(KB) \"hnsw index\" --where '{\"series\": \"Vector databases\"}'"
	@echo "  $(BIN)/answerdb series $(KB)"
	@echo "  $(BIN)/answerdb ask $(KB) \"What is reciprocal rank fusion?\" --json"

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: $(VENV)/.installed
	$(BIN)/pytest

test: lint typecheck pytest

# Retrieval quality on the shared BEIR sets (not part of `make test`: embedding takes minutes).
DATA ?= ../shared/data/beir
eval: $(VENV)/.installed
	for set in faq-python scifact arguana; do $(BIN)/answerdb eval $(DATA)/$$set; done

clean:
	rm -rf $(KB) .pytest_cache .mypy_cache .ruff_cache
