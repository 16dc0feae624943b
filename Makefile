# Two commands on a fresh machine: `make serve` and `make test` (README, quick start).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8080
REPLICAS ?= 2

.PHONY: install validate build serve cluster cluster-stop test lint bench load load-front screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# The project's own bytecode, so that a server starts without compiling its modules first
	# (pip compiles only what it installs, and PYTHONDONTWRITEBYTECODE keeps Python from caching it)
	$(BIN)/python -m compileall -q server/finhealthkg
	touch $(STAMP)

install: $(STAMP)

# The benchmark's extras (rdflib-endpoint, matplotlib) on top of the test install.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

validate: install
	$(BIN)/finhealthkg validate

# Builds a new release only when the sources changed since the current one.
build: install
	$(BIN)/finhealthkg build

serve: build
	$(BIN)/finhealthkg serve --host $(HOST) --port $(PORT)

# The front (nginx, deploy/nginx/) on PORT before REPLICAS servers on the next ports, on loopback;
# STORE=URL serves from an external store. Returns when all answer; `make cluster-stop` stops them.
cluster: build
	$(BIN)/python scripts/cluster start --port $(PORT) --replicas $(REPLICAS) $(if $(STORE),--store $(STORE))

cluster-stop:
	$(PYTHON) scripts/cluster stop

test: install
	$(BIN)/python -m pytest

# Updates the screenshots README shows, from the browser tests' own steps.
screenshots: install
	FINHEALTHKG_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/test_browser.py -k home_diagram

lint: install
	$(BIN)/ruff check server tests bench

# Scaled builds, start-up, endpoint against its limits and peers, downloads (bench/run.py lists
# the BENCH_* variables; BENCH_SIZES=10k,100k,1M by default); writes its section of bench/RESULTS.md.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py

# A bounded load test on loopback (32 clients for 30 s against a server it starts and stops);
# writes its numbers as the "Load" section of bench/RESULTS.md.
load: build
	$(BIN)/python bench/load.py --write bench/RESULTS.md

# The same through the front (nginx) before 2 replicas, 256 clients each from an address of its
# own, for 30 s; writes the "Load through the front" section of bench/RESULTS.md.
load-front: build
	$(BIN)/python bench/load.py --front 2 --clients 256 --write bench/RESULTS.md

clean:
	rm -rf $(VENV) var .pytest_cache
