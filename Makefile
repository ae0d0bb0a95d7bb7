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

.PHONY: install system-deps fonts fonts-web demo demo-dcgan test test-fast bench lint clean

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

# The main job on a 2-core CPU with the shipped weights: fonts → corpus; complete
# NanumGothicLight's 2,350 syllables to 11,172; a face the model never saw drawn from 8
# references (the generator adapted to them first), and a style between two faces; each
# exported as an installable font, checked, and measured.
DEMO_FONT := /usr/share/fonts/truetype/nanum/NanumGothic.ttf
DEMO_LIGHT := /usr/share/fonts/truetype/nanum/NanumGothicLight.ttf
DEMO_HELDOUT := /usr/share/fonts/truetype/unfonts-core/UnPilgi.ttf
demo: install fonts
	$(VENV)/bin/hangulgan render fonts/ corpus/ --workers $(DEMO_WORKERS) || test $$? -eq 1
	$(VENV)/bin/hangulgan corpus info corpus/ | head -n 12
	mkdir -p out
	$(VENV)/bin/hangulgan complete $(DEMO_LIGHT) --out out/NanumGothicLight-Complete.ttf \
	    --workers $(DEMO_WORKERS) --force
	$(VENV)/bin/hangulgan generate --refs $(DEMO_HELDOUT) --adapt --out drafts/unpilgi --force
	$(VENV)/bin/hangulgan generate --mix NanumMyeongjo:0.5,NanumPen:0.5 --out drafts/mix --force
	$(VENV)/bin/hangulgan export-ttf drafts/unpilgi --out out/UnPilgi-Draft.ttf \
	    --family "UnPilgi Draft" --fallback-font $(DEMO_FONT) --workers $(DEMO_WORKERS) --force
	$(VENV)/bin/hangulgan export-ttf drafts/mix --out out/mix/Myeongjo-Pen.ttf \
	    --family "Myeongjo Pen" --fallback-font $(DEMO_FONT) --workers $(DEMO_WORKERS) --force
	$(VENV)/bin/hangulgan check-font out/UnPilgi-Draft.ttf --reference $(DEMO_HELDOUT) --min-iou 0
	$(VENV)/bin/hangulgan check-font out/NanumGothicLight-Complete.ttf
	@echo
	@echo "quality of the face drawn from 8 references (real: UnPilgi, never trained on):"
	$(VENV)/bin/hangulgan evaluate drafts/unpilgi --real corpus/::UnPilgi
	$(VENV)/bin/hangulgan evaluate --ocr out/UnPilgi-Draft.ttf --reference $(DEMO_HELDOUT)
	$(VENV)/bin/hangulgan evaluate --ocr out/NanumGothicLight-Complete.ttf --reference $(DEMO_FONT)
	@echo
	@echo "demo done:"
	@echo "  completed: out/NanumGothicLight-Complete.ttf (2,350 → 11,172 syllables)"
	@echo "  new face:  out/UnPilgi-Draft.ttf, drawn from 8 references of a face never trained on"
	@echo "  new style: out/mix/Myeongjo-Pen.ttf, halfway between NanumMyeongjo and NanumPen"
	@echo "  install:   mkdir -p ~/.local/share/fonts && cp out/*.ttf ~/.local/share/fonts/ && fc-cache -f"

# The original examples' DCGAN end to end: a class-conditional DCGAN (a few minutes on CPU) → its
# KS X 1001 glyphs → an installable draft font, checked.
DEMO_STEPS ?= 1500
demo-dcgan: install fonts
	$(VENV)/bin/hangulgan render fonts/ corpus/ --workers $(DEMO_WORKERS) || test $$? -eq 1
	mkdir -p out
	$(VENV)/bin/hangulgan corpus preview corpus/ --face NanumGothic --out out/preview.png --force
	$(VENV)/bin/hangulgan train dcgan --corpus corpus/ --faces NanumGothic --charset ksx1001 \
	    --conditional --batch 64 --steps $(DEMO_STEPS) --run runs/demo --force
	$(VENV)/bin/hangulgan sample runs/demo --text 다람쥐헌쳇바퀴에타고파한글꼴 --out out/dcgan-grid.png
	$(VENV)/bin/hangulgan sample runs/demo --charset ksx1001 --out-set glyphs/demo --force
	$(VENV)/bin/hangulgan export-ttf glyphs/demo --out out/HangulganDraft.ttf \
	    --family "Hangulgan Draft" --fallback-font $(DEMO_FONT) --workers $(DEMO_WORKERS) --force
	$(VENV)/bin/hangulgan check-font out/HangulganDraft.ttf --glyphs glyphs/demo

test: install fonts
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

# tensorflow-cpu (1.4 GB) for the DCGAN pairs against the original example's tf.keras:
# make bench only.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,potrace,bench]'
	touch $(BENCH_STAMP)

# Every benchmark in turn, then one table: figure, target, pass/miss (exit 1 on a miss).
bench: install fonts $(BENCH_STAMP)
	$(PY) benchmarks/run_all.py

lint: install
	$(VENV)/bin/ruff check hangulgan tests benchmarks
	$(VENV)/bin/ruff format --check hangulgan tests benchmarks

clean:
	rm -rf corpus out runs glyphs drafts .pytest_cache
