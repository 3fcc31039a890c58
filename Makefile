# The two quick-start commands: `make serve` (install and start the sidecar) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
EXTRAS ?= dev,train,scan,integrations,bench

.PHONY: serve test check train lint bench

serve: $(VENV)/.runtime
	HF_HUB_OFFLINE=1 $(BIN)/kguard serve

check: $(VENV)/.runtime
	$(BIN)/kguard check "제 주민번호는 900101-1234568이고 연락처는 010-1234-5678이에요"

test: $(VENV)/.dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(VENV)/.dev
	$(BIN)/ruff check guard tests training bench

train: $(VENV)/.dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m training.pipeline

$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $@ $(VENV)/.runtime
