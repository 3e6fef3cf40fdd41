# rshw: every target depends on the virtual environment, so a fresh clone needs only `make test`.
PYTHON ?= python3
VENV ?= .venv
# CPU build by default; users with GPUs override, e.g. `make install TORCH="torch==2.13.0 --index-url ..."`
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Options (all optional; each target has its own defaults):
#   make train      MODEL=scnn DATASET=cifar10-sample DATA= REALSPIKE=channel T=4 EPOCHS=10 BATCH=64 OUT=
#   make simulate   MODEL=resnet19 VARIANT=channel CKPT= DATASET= DATA= IMAGES=8 (or auto) HW=analytic,cim,gpu
#                   CIM_PRESET= GPU_PRESET= OUT= STATIC_INPUT=once (or every-step) CI_TARGET=0.01
#                   IMAGES_CAP=256 HW_OPTIONS="gpu.batch=1,64 cim.duplication=4"
#                   BASIS=native (or common) SEW=split (or multilevel; imported SEW modules only)
#   make crosscheck MODEL=resnet19 VARIANT=channel CKPT= DATASET= DATA=
# Values reach the shell single-quoted, so a path with spaces (CKPT="my runs/last") stays one word.
quote = '$(subst ','\'',$(1))'
opt = $(if $(2),$(1) $(call quote,$(2)))
or_default = $(call quote,$(or $(1),$(2)))

.PHONY: install test test-slow lint format train simulate crosscheck clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# pytest exits 5 when it collects no test: no test marked slow is not a failure, anything else is
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow || test $$? -eq 5

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

train: $(STAMP)
	$(BIN)/rshw train --model $(call or_default,$(MODEL),scnn) \
		--dataset $(call or_default,$(DATASET),cifar10-sample) \
		--realspike $(call or_default,$(REALSPIKE),channel) --timesteps $(call or_default,$(T),4) \
		--epochs $(call or_default,$(EPOCHS),10) --batch-size $(call or_default,$(BATCH),64) \
		$(call opt,--data,$(DATA)) $(call opt,--out,$(OUT))

simulate: $(STAMP)
	$(BIN)/rshw simulate --model $(call or_default,$(MODEL),resnet19) $(call opt,--variant,$(VARIANT)) \
		$(call opt,--ckpt,$(CKPT)) $(call opt,--dataset,$(DATASET)) $(call opt,--data,$(DATA)) \
		$(call opt,--images,$(IMAGES)) $(call opt,--hw,$(HW)) $(call opt,--timesteps,$(T)) \
		$(call opt,--cim-preset,$(CIM_PRESET)) $(call opt,--gpu-preset,$(GPU_PRESET)) \
		$(call opt,--static-input,$(STATIC_INPUT)) $(call opt,--ci-target,$(CI_TARGET)) \
		$(call opt,--images-cap,$(IMAGES_CAP)) $(call opt,--basis,$(BASIS)) $(call opt,--sew,$(SEW)) \
		$(call opt,--out,$(OUT)) $(foreach o,$(HW_OPTIONS),--hw-option $(call quote,$(o)))

crosscheck: $(STAMP)
	$(BIN)/python -m analyses.crosscheck --model $(call or_default,$(MODEL),resnet19) \
		$(call opt,--variant,$(VARIANT)) $(call opt,--ckpt,$(CKPT)) \
		$(call opt,--dataset,$(DATASET)) $(call opt,--data,$(DATA)) $(call opt,--out,$(OUT))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
