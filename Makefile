# answerdb — `make demo` and `make test` work on a fresh machine (Python 3.11+, PyPI reachable).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KB := demo-kb
QUESTION := What are the career options related to computer vision?

.PHONY: demo test lint typecheck pytest eval stress bench bench-ingest clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml setup.py src/answerdb/store/embedded/_walk.c | $(BIN)/activate
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
	@echo "  $(BIN)/answerdb serve $(KB)     # the same as reference pages at http://127.0.0.1:8000"

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests stress bench
	$(BIN)/ruff format --check src tests stress bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: $(VENV)/.installed
	$(BIN)/pytest

test: lint typecheck pytest

# Crash, concurrency and fuzz stress (not part of `make test`; about 10 minutes on 2 cores).
KILLS ?= 1000
stress: $(VENV)/.installed
	$(BIN)/python -m stress.kill_ingest --kills $(KILLS)
	$(BIN)/python -m stress.many_processes --readers 8 --seconds 60
	ANSWERDB_FUZZ_SCALE=20 $(BIN)/pytest -q tests/reliability/test_fuzz.py

# Retrieval quality on the shared BEIR sets (not part of `make test`: embedding takes minutes).
DATA ?= ../shared/data/beir
eval: $(VENV)/.installed
	for set in faq-python scifact arguana; do $(BIN)/answerdb eval $(DATA)/$$set; done

# Vector search against hnswlib, faiss, Chroma, LanceDB and Milvus Lite (the bench extra; minutes).
ANN_DATA ?= ../shared/data/ann/glove-6B-50-angular.hdf5
bench: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/ann.py --data $(ANN_DATA) --max-minutes 40
	$(BIN)/python bench/ann.py --synthetic 100000 --dim 384 --max-minutes 45

# Text ingest against the bare embedding model, same passages, one run (about 15 minutes with
# MiniLM on 2 cores; INGEST_MODEL=minilm-static-256 INGEST_DOCS=5183 takes about a minute, and
# INGEST_CORPORA="scifact arguana" INGEST_DOCS=13857 with it about two).
INGEST_MODEL ?= all-MiniLM-L6-v2
INGEST_DOCS ?= 600
INGEST_CORPORA ?= scifact
bench-ingest: $(VENV)/.installed
	$(BIN)/python bench/ingest.py $(foreach c,$(INGEST_CORPORA),--corpus $(DATA)/$(c)) \
		--docs $(INGEST_DOCS) --model $(INGEST_MODEL)

clean:
	rm -rf $(KB) .pytest_cache .mypy_cache .ruff_cache
