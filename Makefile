# The two quick-start commands: `make serve` (install and start the sidecar) and `make test`.
# `make test` installs every extra (about 2.3 GB) and runs everything; `make test EXTRAS=dev` installs
# the runtime and the test tools only (about 0.55 GB) and skips what needs more, naming the extra.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
EXTRAS ?= dev,train,scan,integrations,bench,verify
comma := ,
# one stamp per set of extras: installing a lighter set never stands in for a fuller one
DEV_STAMP = $(VENV)/.dev-$(subst $(comma),-,$(EXTRAS))

.PHONY: serve test check train lint bench

serve: $(VENV)/.runtime
	HF_HUB_OFFLINE=1 $(BIN)/kguard serve

check: $(VENV)/.runtime
	$(BIN)/kguard check "제 주민번호는 900101-1234568이고 연락처는 010-1234-5678이에요"

test: $(DEV_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

lint: $(DEV_STAMP)
	$(BIN)/ruff check guard tests training bench

train: $(DEV_STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m training.pipeline

$(VENV)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $@ $(VENV)/.runtime
