# hangulgan: `make demo` runs the pipeline end to end; `make test` runs the tests.
# Both install what they need first (a .venv, and Debian packages when run as root).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0
DEMO_WORKERS ?= 2

.PHONY: install system-deps fonts demo test test-fast bench lint clean

# The venv is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	bash scripts/system-deps.sh build
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: a bare requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==$(TORCH_VERSION)
	$(PY) -m pip install -q -e '.[dev,potrace]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/system-deps.sh all

fonts:
	bash scripts/system-deps.sh fonts
	bash scripts/link-fonts.sh fonts

demo: install fonts
	$(VENV)/bin/hangulgan render fonts/ corpus/ --workers $(DEMO_WORKERS) || test $$? -le 1
	$(VENV)/bin/hangulgan corpus info corpus/ | head -n 12
	mkdir -p out
	$(VENV)/bin/hangulgan corpus preview corpus/ --face NanumGothic --out out/preview.png
	@echo "demo: corpus in corpus/, preview sheet in out/preview.png"

test: install fonts
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

bench: install fonts
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

lint: install
	$(VENV)/bin/ruff check hangulgan tests benchmarks
	$(VENV)/bin/ruff format --check hangulgan tests benchmarks

clean:
	rm -rf corpus out runs glyphs .pytest_cache
