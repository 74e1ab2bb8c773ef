# The two commands of the README, and the pieces they are made of. Everything installs into
# .venv on first use (Python >= 3.10 with venv is all a fresh machine needs). Tools run as
# `python -m <tool>`, never through the venv's console scripts: in a project whose path holds a
# space and a `$` their `#!/bin/sh` launcher expands the `$` and cannot find the interpreter.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 1
SNAKEMAKE_ARGS ?=

.PHONY: pipeline test lint report ui kernels-check cluster-test clean

# The package is workflow/trt_plugin_bench, put on the venv's path by a .pth file (what `pip install
# -e .` amounts to): setuptools cannot install into a venv whose path holds a `$` (it reads `$x` as
# one of its variables), so the project is not pip-installed; requirements.txt has every dependency.
$(VENV)/.installed: requirements.txt pyproject.toml
	@echo "install 1/3: a virtual environment in $(VENV) (once; make clean keeps it)"
	@$(PYTHON) -m venv $(VENV)
	@echo "install 2/3: pip itself (a few seconds)"
	@$(BIN)/python -m pip install -qq --upgrade pip
	@echo "install 3/3: requirements.txt (snakemake, mlflow, seaborn, numpy...: about 1-2 minutes, silent)"
	@$(BIN)/python -m pip install -qq -r requirements.txt
	@$(BIN)/python -c "import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()['purelib'], 'trt_plugin_bench.pth').write_text(str(pathlib.Path('workflow').resolve()) + '\n')"
	@printf '#!/bin/sh\nexec "$$(dirname "$$0")/python" -m trt_plugin_bench "$$@"\n' > $(BIN)/trt-plugin-bench
	@chmod +x $(BIN)/trt-plugin-bench
	@touch $@
	@echo "install done: $(VENV)"

# README command 1: the whole DAG (TensorRT backend where TensorRT and a GPU exist, else the
# CPU reference backend), then Snakemake's HTML report, everything under results/<experiment>/
# (config key experiment). One line per job; Snakemake's full console is in .snakemake/log/.
pipeline: $(VENV)/.installed
	@$(BIN)/python -m trt_plugin_bench.commands.console --rerun-as make --cores $(CORES) -- $(SNAKEMAKE_ARGS)

# README command 2: the tests (GPU tests skip, saying why, on a machine without one).
test: $(VENV)/.installed
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/python -m ruff check workflow tests
	$(BIN)/python -m snakemake --lint

ui: $(VENV)/.installed
	$(BIN)/trt-plugin-bench ui

# The DAG through SLURM with every job logging to an MLflow server on PostgreSQL, all on 127.0.0.1
# of this machine (root, Debian/Ubuntu: it apt-get installs slurm-wlm, munge, postgresql and pip
# installs requirements-cluster.txt), the fault cases, a two-cell matrix; then everything stopped
# and removed (docs/clusters.md)
cluster-test: $(VENV)/.installed
	bash workflow/scripts/cluster/harness.sh

# CI: the pure-CUDA kernels compile with nvcc (no TensorRT headers needed): every kernel library and kernel
# check of plugin/CMakeLists.txt's TPB_KERNELS_ONLY part (libswish_kernels.so, swish_kernel_check,
# libtpb_ops_kernels.so with GELU and the norm operators, gelu_kernel_check and the norm kernel checks)
# (through compile.nvcc_safe's link where the project path holds a `$` or `;`, which nvcc's shell or CMake
# would read: the compile rule builds the same way)
kernels-check: $(VENV)/.installed
	@src=$$($(BIN)/python -c "import pathlib; from trt_plugin_bench.commands.compile import nvcc_safe; print(nvcc_safe(pathlib.Path.cwd()))") && \
	cmake -S "$$src/plugin" -B "$$src/build/kernels" -DTPB_KERNELS_ONLY=ON -DCMAKE_BUILD_TYPE=Release && \
	cmake --build "$$src/build/kernels" -j 2

clean:
	rm -rf results .snakemake build
