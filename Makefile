# hangulgan: `make demo` runs the pipeline end to end; `make test` runs the tests.
# Both install what they need first (a .venv, and Debian packages when run as root).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_VERSION := 2.13.0
# Where pip finds torch. Empty: the default index (here it finds the CPU build on disk).
# On a stock Linux machine PyPI's torch is a multi-GB CUDA build; for the CPU one:
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
DEMO_WORKERS ?= 2

.PHONY: install system-deps fonts fonts-web demo test test-fast bench lint clean

# The venv is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	bash scripts/system-deps.sh build
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, pinned: a bare requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==$(TORCH_VERSION) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -e '.[dev,potrace]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/system-deps.sh all

# Debian's Korean fonts, linked into fonts/; then the Google Fonts Korean families from
# npm (fonts-web) when npm is there. Both reach package registries only.
fonts:
	bash scripts/system-deps.sh fonts
	bash scripts/link-fonts.sh fonts
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory fonts-web; \
	else echo "warning: npm not found: web fonts skipped (install npm, then make fonts-web)" >&2; fi

# @fontsource/NAME packages at pinned versions → fonts/web/NAME/WEIGHT/*.woff (idempotent).
fonts-web:
	bash scripts/fetch-web-fonts.sh fonts/web

# fonts → corpus → a class-conditional DCGAN (a few minutes on CPU) → its KS X 1001
# glyphs → an installable draft font, checked.
DEMO_STEPS ?= 1500
DEMO_FONT := /usr/share/fonts/truetype/nanum/NanumGothic.ttf
demo: install fonts
	$(VENV)/bin/hangulgan render fonts/ corpus/ --workers $(DEMO_WORKERS) || test $$? -eq 1
	$(VENV)/bin/hangulgan corpus info corpus/ | head -n 12
	mkdir -p out
	$(VENV)/bin/hangulgan corpus preview corpus/ --face NanumGothic --out out/preview.png
	$(VENV)/bin/hangulgan train dcgan --corpus corpus/ --faces NanumGothic --charset ksx1001 \
	    --conditional --batch 64 --steps $(DEMO_STEPS) --run runs/demo --force
	$(VENV)/bin/hangulgan sample runs/demo --text 다람쥐헌쳇바퀴에타고파한글꼴 --out out/dcgan-grid.png
	$(VENV)/bin/hangulgan sample runs/demo --charset ksx1001 --out-set glyphs/demo --force
	$(VENV)/bin/hangulgan export-ttf glyphs/demo --out out/HangulganDraft.ttf \
	    --family "Hangulgan Draft" --fallback-font $(DEMO_FONT) --workers $(DEMO_WORKERS) --force
	$(VENV)/bin/hangulgan check-font out/HangulganDraft.ttf --glyphs glyphs/demo
	@echo
	@echo "demo done:"
	@echo "  corpus:   corpus/ (preview out/preview.png)"
	@echo "  model:    runs/demo (samples out/dcgan-grid.png)"
	@echo "  font:     out/HangulganDraft.ttf (specimen out/specimen.png, out/specimen.html)"
	@echo "  install:  mkdir -p ~/.local/share/fonts && cp out/HangulganDraft.ttf ~/.local/share/fonts/ && fc-cache -f"

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
