# rshw: every target depends on the virtual environment, so a fresh clone needs only `make test`.
PYTHON ?= python3
VENV ?= .venv
# CPU build by default; users with GPUs override, e.g. `make install TORCH="torch==2.13.0 --index-url ..."`
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# training defaults (override on the command line: make train MODEL=scnn DATASET=mnist EPOCHS=1 ...)
MODEL ?= scnn
DATASET ?= cifar10-sample
DATA ?=
REALSPIKE ?= channel
T ?= 4
EPOCHS ?= 10
BATCH ?= 64
OUT ?= runs/$(MODEL)-$(DATASET)-$(REALSPIKE)

.PHONY: install test test-slow lint format train crosscheck clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train: $(STAMP)
	$(BIN)/rshw train --model $(MODEL) --dataset $(DATASET) $(if $(DATA),--data $(DATA)) \
		--realspike $(REALSPIKE) --timesteps $(T) --epochs $(EPOCHS) --batch-size $(BATCH) --out $(OUT)

crosscheck: $(STAMP)
	$(BIN)/python analyses/crosscheck.py --model $(MODEL) $(if $(VARIANT),--variant $(VARIANT)) \
		$(if $(CKPT),--ckpt $(CKPT)) $(if $(filter-out cifar10-sample,$(DATASET)),--dataset $(DATASET)) \
		$(if $(DATA),--data $(DATA))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
