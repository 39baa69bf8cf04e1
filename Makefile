# The two commands of the README: `make demo` and `make test`. Both set up everything they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	./scripts/system-deps
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/tracker demo

lint: $(STAMP)
	$(BIN)/ruff check tracker tests bench scripts

test: $(STAMP)
	$(BIN)/ruff check tracker tests bench
	url=$$(./scripts/start-postgres) || { echo "PostgreSQL did not start (see scripts/start-postgres)" >&2; exit 1; }; \
	TRACKER_TEST_PG_URL=$$url $(BIN)/pytest -q -n 2

bench: $(STAMP)
	for b in import staging prepare progress reports schedule web; do $(BIN)/python bench/bench_$$b.py || exit 1; done

clean:
	rm -rf $(VENV) data/*.db* .pytest_cache
