# The two commands of the README, and the pieces they are made of. Everything installs into
# .venv on first use (Python >= 3.10 with venv is all a fresh machine needs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 1
SNAKEMAKE_ARGS ?=

.PHONY: pipeline test lint report ui kernels-check clean

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e '.[dev]'
	touch $@

# README command 1: the whole DAG (TensorRT backend where TensorRT and a GPU exist, else the
# CPU reference backend), then Snakemake's HTML report.
pipeline: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS)
	$(BIN)/snakemake --cores $(CORES) $(SNAKEMAKE_ARGS) --report results/report.html

# README command 2: the tests (GPU tests skip, saying why, on a machine without one).
test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check workflow tests
	$(BIN)/snakemake --lint

ui: $(VENV)/.installed
	$(BIN)/trt-plugin-bench ui

# CI: the pure-CUDA kernels compile with nvcc (no TensorRT headers needed)
kernels-check:
	cmake -S plugin -B build/kernels -DTPB_KERNELS_ONLY=ON -DCMAKE_BUILD_TYPE=Release
	cmake --build build/kernels -j 2

clean:
	rm -rf results .snakemake build
