# The two commands of the README, and the pieces they are made of. Everything installs into
# .venv on first use (Python >= 3.10 with venv is all a fresh machine needs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 1
SNAKEMAKE_ARGS ?=

.PHONY: pipeline test lint report ui kernels-check clean

$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "install 1/3: a virtual environment in $(VENV) (once; make clean keeps it)"
	@$(PYTHON) -m venv $(VENV)
	@echo "install 2/3: pip itself (a few seconds)"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "install 3/3: requirements.txt and this project (snakemake, mlflow, seaborn, numpy...: about 1-2 minutes, silent)"
	@$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[dev]'
	@touch $@
	@echo "install done: $(VENV)"

# README command 1: the whole DAG (TensorRT backend where TensorRT and a GPU exist, else the
# CPU reference backend), then Snakemake's HTML report, everything under results/<experiment>/
# (config key experiment). One line per job; Snakemake's full console is in .snakemake/log/.
pipeline: $(VENV)/.installed
	@$(BIN)/python -m trt_plugin_bench.console --rerun-as make --cores $(CORES) -- $(SNAKEMAKE_ARGS)

# README command 2: the tests (GPU tests skip, saying why, on a machine without one).
test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check workflow tests
	$(BIN)/snakemake --lint

ui: $(VENV)/.installed
	$(BIN)/mlflow ui

# CI: the pure-CUDA kernels compile with nvcc (no TensorRT headers needed)
kernels-check:
	cmake -S plugin -B build/kernels -DTPB_KERNELS_ONLY=ON -DCMAKE_BUILD_TYPE=Release
	cmake --build build/kernels -j 2

clean:
	rm -rf results .snakemake build
