# Shared definitions: the resolved backend and the sweeps it can build (trt_plugin_bench.commands.dag).
import shlex

from snakemake.logging import logger

from trt_plugin_bench.commands import dag
from trt_plugin_bench.backends import resolve_backend_name, tensorrt_version
from trt_plugin_bench.report.figures import figure_plan
from trt_plugin_bench.core.operators import OPERATORS, sweep_key
from trt_plugin_bench.core.provenance import plugin_sources

# every rule's command: quoted, since a shell reads it (the project's path may hold a space, a $ or a ;)
TPB = shlex.join([sys.executable, str(WORKFLOW_DIR / "scripts" / "tpb.py")])
CONDA_ENV = "../../environment.yml"
# every output under results/<experiment>/ (config key experiment; dag.results_dir)
RESULTS = dag.results_dir(SETTINGS.experiment)


def R(*parts):
    """A path under this experiment's results folder."""
    return dag.results_path(RESULTS, *parts)


MANIFEST = R(dag.MANIFEST)
BACKEND = resolve_backend_name(SETTINGS.backend)
TRT_VERSION = tensorrt_version() if BACKEND == "tensorrt" else None
if BACKEND == "tensorrt" and TRT_VERSION is None:
    raise WorkflowError(
        "backend 'tensorrt' was requested but `import tensorrt` fails here: install the 'gpu' "
        "extra (tensorrt, pycuda) or set backend: reference (or auto)"
    )
TRT_MAJOR = int(TRT_VERSION.split(".")[0]) if TRT_VERSION else None
logger.info(f"trt-plugin-bench: results under {RESULTS}/")  # trt_plugin_bench.commands.console reads it
logger.info(
    f"trt-plugin-bench: backend tensorrt (TensorRT {TRT_VERSION})" if TRT_VERSION
    else "trt-plugin-bench: backend reference (CPU, numpy): timings are CPU timings, not TensorRT"
)
# every operator name a wildcard may take: the built-in specs (ops/) and those config operators: adds
OPERATOR_NAMES = list(dict.fromkeys([*OPERATORS, *dag.operator_names(SETTINGS)]))
KEYS, SKIPPED = dag.plan_sweeps(SETTINGS, BACKEND, TRT_MAJOR)
for _why in SKIPPED:
    logger.info(f"trt-plugin-bench: skipping {_why}")
THREAD_KEYS = dag.thread_keys(SETTINGS, KEYS)
# the in_network rule's jobs (operator__block__dtype__size), and why others are left out
IN_NETWORK_KEYS, IN_NETWORK_SKIPPED = dag.in_network_keys(SETTINGS, BACKEND, TRT_MAJOR)
for _why in IN_NETWORK_SKIPPED:
    logger.info(f"trt-plugin-bench: skipping {_why}")
OPERATOR_NAMES += [k.split("__")[0] for k in IN_NETWORK_KEYS if k.split("__")[0] not in OPERATOR_NAMES]
# the tune rule's operators ({op}: one job each) and whether it runs at all
TUNE_OPS = dag.tune_operators(SETTINGS, KEYS)
TUNE_PLANNED = bool(TUNE_OPS)
COMPARE_KEYS = dag.compare_keys(SETTINGS, KEYS)
# the figures this run has data for (rule all, figures, log_mlflow); the others are named with the
# reason here and in summary.md (never drawn as placeholders)
FIGURES, SKIPPED_FIGURES = figure_plan(BACKEND, SETTINGS, TRT_MAJOR)
for _name, _why in SKIPPED_FIGURES.items():
    logger.info(f"trt-plugin-bench: no {_name} figure: {_why}")
GPU_RESOURCES = 1 if BACKEND == "tensorrt" else 0
KERNEL_BENCH = BACKEND == "tensorrt" and SETTINGS.kernel_bench.enabled
PROFILE_CFG = SETTINGS.profile
PROFILE_KEY = (
    sweep_key(PROFILE_CFG.operator, PROFILE_CFG.dtype, PROFILE_CFG.profile)
    if PROFILE_CFG.enabled and BACKEND == "tensorrt" else None
)
if PROFILE_CFG.enabled and BACKEND != "tensorrt":
    logger.info("trt-plugin-bench: the Nsight Compute profile rule needs the tensorrt backend; skipped")
if PROFILE_KEY is not None and PROFILE_KEY not in KEYS:
    raise WorkflowError(f"profile: {PROFILE_KEY} is not built on this backend (skipped: {SKIPPED})")
