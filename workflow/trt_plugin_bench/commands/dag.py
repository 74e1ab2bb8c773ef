"""The pieces of the Snakemake DAG that are plain Python: which sweeps exist, what each rule's
params hold, where outputs go. Kept here (not in .smk files) so they are unit-tested."""

from __future__ import annotations

import math
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.operators import (
    AUTO_KERNEL,
    OperatorSpec,
    dtype_support,
    get_operator,
    is_elementwise,
    operator_ref,
    resolve_operators,
    sweep_key,
    tensorrt_support,
)
from ..core.settings import Settings, operator_names, plugin_kernel, tune_subject

# Every output of the DAG lives under results/<experiment>/ (config key ``experiment``), so two
# configs never overwrite or rerun each other's results; mlflow.db stays at the project root. The
# paths below are relative to that folder: results_path(root, ...) joins them.
RESULTS_ROOT = "results"
DEFAULT_EXPERIMENT = "default"
MANIFEST = "build/manifest.json"
# the tune rule's outputs, one folder per tuned operator ({op}: tune_operators)
TUNE_CHOICE = "tune/{op}/choice.json"
TUNE_TABLE = "tune/{op}/tune.csv"


def results_dir(experiment: str = DEFAULT_EXPERIMENT) -> str:
    """The folder every output of ``experiment`` goes under: results/<experiment>."""
    return f"{RESULTS_ROOT}/{experiment}"


def results_path(root: str, *parts: str) -> str:
    """A path under an experiment's results folder ``root`` (results_dir)."""
    return "/".join([root, *parts])


def uses_tune(op: str, settings: Settings, dtype: str) -> bool:
    """Whether (op, dtype) runs a tune rule's choice table (its kernel auto for that dtype)."""
    return get_operator(op).kernel == "optimised" and plugin_kernel(op, settings, dtype) == AUTO_KERNEL


def tune_operators(settings: Settings, keys: list[str]) -> list[str]:
    """The operators the tune rule runs for (its {op}), in config order: the tune subject
    (settings.tune_subject) of each planned sweep that runs a choice table; an explicit kernel skips
    it. Operators sharing their variants share the first one's tune."""
    out: dict[str, None] = {}
    for op, dtype, _ in (k.split("__") for k in keys):
        subject = tune_subject(op, settings) if uses_tune(op, settings, dtype) else None
        if subject is not None:
            out[subject] = None
    return list(out)


def tune_planned(settings: Settings, keys: list[str]) -> bool:
    """The tune rule is in the DAG when a planned sweep runs a choice table."""
    return bool(tune_operators(settings, keys))


def tune_path(root: str, pattern: str, op: str) -> str:
    """TUNE_CHOICE or TUNE_TABLE of tuned operator ``op`` under results folder ``root``."""
    return results_path(root, pattern.format(op=op))


def tune_outputs(root: str, pattern: str, ops: Sequence[str]) -> list[str]:
    return [tune_path(root, pattern, op) for op in ops]


def tune_input(op: str, settings: Settings, dtype: str) -> list[str]:
    """build_engine's dependency on a choice table: its tune subject's, only where (op, dtype) runs it,
    so an explicit kernel, a native operator or the native twin never waits for (or reruns after)
    a tune rule, and one operator's tune never rebuilds another's engines."""
    subject = tune_subject(op, settings) if uses_tune(op, settings, dtype) else None
    return [tune_path(results_dir(settings.experiment), TUNE_CHOICE, subject)] if subject else []


def _nvidia_smi(query: str) -> str | None:
    """One line of `nvidia-smi --query-gpu` for GPU 0, or None without a GPU or nvidia-smi."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader", "-i", "0"],
                             capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def gpu_identity(backend: str) -> str:
    """What the tune rule's choice depends on besides its config and the kernel source: the GPU
    (model, board) and its driver. A param of the rule, so another GPU reruns it."""
    if backend != "tensorrt":
        return "cpu (reference backend)"
    return _nvidia_smi("name,uuid,driver_version") or "unknown GPU"


def cuda_architectures(settings: Settings, backend: str) -> str:
    """CMAKE_CUDA_ARCHITECTURES for the compile rule: compile.cuda_architectures, or for auto the
    present GPU's compute capability ("9.0" -> "90"), or "" (the compiler's default) without one."""
    chosen = settings.compile.cuda_architectures
    if chosen != "auto":
        return chosen
    cap = _nvidia_smi("compute_cap") if backend == "tensorrt" else None
    return cap.replace(".", "") if cap else ""


def own_library_specs(operators: Sequence[str]) -> list[OperatorSpec]:
    """The configured operators with a plugin library (a spec's CMake folder or prebuilt .so): the
    compile rule builds or checks each, one spec file each."""
    out = []
    for spec in resolve_operators(list(operators)):
        lib = spec.plugin.library if spec.plugin is not None else None
        if lib is not None and spec.path is not None and all(s.path != spec.path for s in out):
            out.append(spec)
    return out


def compile_inputs(operators: Sequence[str]) -> list[str]:
    """The compile rule's inputs beyond plugin/: each own-library spec file and every source,
    header and CMake file of its CMake folder, so an edit there reruns the rule (and what needs it)."""
    from .compile import spec_library_sources

    return [str(p) for p in spec_library_sources(own_library_specs(operators))]


def compile_spec_args(operators: Sequence[str]) -> str:
    """The compile command's ``--spec FILE`` for each own-library spec (also a param: a changed
    list reruns the rule)."""
    return " ".join(f"--spec {shlex.quote(operator_ref(s.name))}" for s in own_library_specs(operators))


def plan_sweeps(settings: Settings, backend: str, trt_major: int | None) -> tuple[list[str], list[str]]:
    """Sweep keys (operator__dtype__profile) the backend can build, and why others are skipped."""
    keys: list[str] = []
    skipped: list[str] = []
    for op in operator_names(settings):
        for dtype in settings.dtypes:
            why = tensorrt_support(op, dtype, trt_major) if backend == "tensorrt" and trt_major is not None else None
            why = why or dtype_support(op, dtype)
            if why:
                skipped.append(f"{op}/{dtype}: {why}")
                continue
            keys.extend(sweep_key(op, dtype, profile) for profile in settings.profiles)
    return keys, skipped


def compare_keys(settings: Settings, keys: list[str]) -> list[str]:
    """Compare outputs (a__vs__b__dtype__profile) for each configured pair both of whose engines
    are planned on this backend."""
    if not settings.compare.enabled:
        return []
    planned = set(keys)
    out = []
    for a, b in settings.compare.pairs:
        for dtype in settings.dtypes:
            for profile in settings.profiles:
                if sweep_key(a, dtype, profile) in planned and sweep_key(b, dtype, profile) in planned:
                    out.append(f"{a}__vs__{b}__{dtype}__{profile}")
    return out


def thread_keys(settings: Settings, keys: list[str]) -> list[str]:
    return [k for k in keys if k.endswith(f"__{settings.threads.profile}")]


# What each command reads of the settings (Settings.to_data's ``reads``): its rule hands it exactly
# these keys as its params, so a change to one reruns the rule and a change to any other key does
# not; the command's copy has nothing else (reading another key raises settings.NotHanded).
# PROFILE: only the rule's own profile (its wildcard); ALL: every key.
PROFILE = "<the rule's profile>"
ALL = "<every key>"
RULE_READS: dict[str, Any] = {
    # its own stopping rule (tune.timing); of timing only how cold samples start; tune.kernels and
    # finalists_include: its operator's lists; compare.pairs: the pair its operator heads; profiles:
    # the row shapes of an operator that is not elementwise (tune.row_shapes)
    "tune": {"tune": True, "dtypes": True, "beta": True, "builder": True, "compare": ["pairs"],
             "timing": ["l2_flush"], "profiles": True},
    # builder: this engine's (Settings.engine_builder); plugin_kernel or operator_kernels: this
    # operator's and dtype's, for an operator whose kernel the config chooses; reference.extra_work: the CPU engines' planted slowdown, and
    # the CPU backend's size limit (the golden shape is the largest of the profile within it)
    "build": {"profiles": PROFILE, "beta": True, "builder": True, "plugin_kernel": "<the rule's dtype>",
              "operator_kernels": "<the rule's operator and dtype>",
              "reference": ["extra_work", "full", "max_elements", "full_max_elements"]},
    "latency": {"profiles": PROFILE, "timing": True, "reference": True},
    "compare": {"profiles": PROFILE, "timing": True, "reference": True,
                "compare": ["mode", "target_rse", "max_time_s", "extra_shapes"]},  # extra_shapes: its profile's
    "dynamic": {"profiles": PROFILE, "reference": True, "timing": ["verify_max_elements"]},
    "threads": {"threads": True, "reference": True},
    "conformance": {"conformance": True, "beta": True},
    "calibrate": {"calibration": True, "timing": True},
    "kernel-bench": {"kernel_bench": True, "timing": True, "dtypes": True, "beta": True},
    "profile": {"profile": True},
    "log-mlflow": ALL,  # the parent run's params are the whole config
    # the store; the CPU re-time's budget and rounds (verdict) and its stopping rule's warm-up (timing)
    "verdict": {"mlflow": True, "verdict": True, "timing": True},
    # the blocks, sizes, dtypes and its own stopping rule; the builder; beta and the plugin's kernel
    "in-network": {"in_network": True, "timing": True, "builder": True, "beta": True, "plugin_kernel": True,
                   "operator_kernels": True,
                   "reference": True},
}


def rule_settings(settings: Settings, command: str, op: str | None = None, dtype: str | None = None,
                  profile: str | None = None) -> str:
    """The one serialized form a rule hands ``command`` (its --settings-json and its params):
    RULE_READS[command] of ``settings``, narrowed to the rule's wildcards."""
    reads = RULE_READS[command]
    if reads == ALL:
        return settings.to_json()
    reads = dict(reads)
    view = settings
    if reads.get("profiles") == PROFILE:
        reads["profiles"] = {profile: True}
    if command == "build":
        view = replace(view, builder=view.engine_builder(profile))
        if get_operator(op).kernel != "optimised":  # its kernel is its own: no kernel key rebuilds it
            del reads["plugin_kernel"], reads["operator_kernels"]
        elif op in view.operator_kernels:  # its own choice: plugin_kernel changes never rebuild it
            del reads["plugin_kernel"]
            reads["operator_kernels"] = {op: [dtype]}
        else:
            reads["plugin_kernel"] = [dtype]
            reads["operator_kernels"] = {}  # handed, empty: it names no other operator's choice
    if command == "tune":  # its operator's own: a change to another operator's tune keys never reruns it
        spec = get_operator(op)
        view = replace(view, tune=view.tune.for_operator(spec),
                       compare=replace(view.compare, pairs=tuple(p for p in view.compare.pairs if p[0] == spec.name)))
        if is_elementwise(spec):
            del reads["profiles"]  # sampled flat: the profiles' shapes are not its business
    if command == "compare":
        extra = view.compare.extra_shapes
        view = replace(view, compare=replace(view.compare, extra_shapes={profile: extra[profile]} if profile in extra else {}))
    return view.to_json(reads)


def manifest_for(root: str, op: str) -> str | list:
    """Only plugin engines depend on the compiled plugin: a kernel edit leaves native operators alone."""
    return results_path(root, MANIFEST) if get_operator(op).uses_plugin else []


def manifest_arg(manifest: object) -> str:
    """A command's ``--manifest FILE`` (quoted: a rule's shell reads it), or "" without one."""
    return f"--manifest {shlex.quote(str(manifest))}" if manifest else ""


def sweep_outputs(root: str, kind: str, keys: list[str]) -> list[str]:
    return [results_path(root, kind, f"{k}.csv") for k in keys]


def sample_outputs(root: str, keys: list[str]) -> list[str]:
    """The latency rule's raw samples of each sweep (samples.py), which the log rule logs."""
    return [results_path(root, "samples", f"{k}.npz") for k in keys]


def engine_outputs(root: str, keys: list[str]) -> list[str]:
    """The build rule's files of each sweep: the engine, its build record and its golden outputs."""
    return [results_path(root, "engines", f"{k}{ext}") for k in keys for ext in (".engine", ".build.json", ".golden.npz")]


def manifest_outputs(root: str, keys: list[str]) -> list[str]:
    """The compile rule's manifest where a planned sweep's engine needs it (a plugin operator)."""
    found = [manifest_for(root, k.split("__")[0]) for k in keys]
    return list(dict.fromkeys(m for m in found if m))


def stale_tables(inputs: Sequence[str], outputs: Sequence[str]) -> list[str]:
    """The aggregated tables to remove because a per-sweep file they were built from is gone (a
    failed job's outputs, an engine found corrupt and removed): they would keep rows of a sweep
    whose file no longer exists. Removes those that exist and returns them (none while every
    input is present)."""
    if all(Path(f).exists() for f in inputs):
        return []
    removed = []
    for f in outputs:
        if Path(f).exists():
            Path(f).unlink()
            removed.append(str(f))
    return removed


def conformance_outputs(root: str, settings: Settings) -> list[str]:
    """The conformance rule's reports: one per configured operator (conformance.enabled)."""
    if not settings.conformance.enabled:
        return []
    return [results_path(root, "conformance", f"{op}.json") for op in operator_names(settings)]


def compile_operators(settings: Settings) -> list[str]:
    """The operators whose plugin libraries the compile rule builds: config operators, the in_network
    rule's where it is on, and kernel_bench.operator where that rule is on (it may be no config operator:
    a shipped plugin's kernels timed in an experiment of other operators; the manifest must then name its
    direct library, or the rule has nothing to call: tests/configs/gpu-multi.yaml, H100 2026-12-07)."""
    extra = list(settings.in_network.operators) if settings.in_network.enabled else []
    bench = [settings.kernel_bench.operator] if settings.kernel_bench.enabled else []
    return list(dict.fromkeys([*settings.operators, *extra, *bench]))


IN_NETWORK = "in_network"


def in_network_keys(settings: Settings, backend: str, trt_major: int | None) -> tuple[list[str], list[str]]:
    """The in_network jobs (operator__block__dtype__size) this backend can run, and why others are
    left out: off, a dtype the operator or TensorRT lacks, a block without a CPU stand-in on the
    reference backend."""
    cfg = settings.in_network
    if not cfg.enabled:
        return [], []
    keys: list[str] = []
    skipped: list[str] = []
    for spec in resolve_operators(list(cfg.operators)):  # registers an external spec for op_arg
        for dtype in cfg.dtypes:
            why = tensorrt_support(spec.name, dtype, trt_major) if backend == "tensorrt" and trt_major is not None else None
            why = why or dtype_support(spec.name, dtype)
            if why:
                skipped.append(f"in_network {spec.name}/{dtype}: {why}")
                continue
            for block, decl in cfg.blocks.items():
                if decl.get("operators") and spec.name not in {o.name for o in resolve_operators(list(decl["operators"]))}:
                    continue  # the block names the operators it runs (in_network.blocks.<name>.operators)
                if backend == "reference" and not decl.get("cpu"):
                    skipped.append(f"in_network {spec.name}/{block}: no CPU stand-in (in_network.blocks.{block}.cpu)")
                    continue
                for size, shape in decl["sizes"].items():
                    n = math.prod(shape)
                    key, limit = settings.reference.limit if backend == "reference" else ("", None)
                    if limit is not None and n > limit:
                        skipped.append(f"in_network {spec.name}/{block}/{dtype}/{size}: {n} elements > {key} {limit} "
                                       "(the CPU stand-in)")
                        continue
                    keys.append(f"{spec.name}__{block}__{dtype}__{size}")
    return keys, skipped


def in_network_outputs(root: str, keys: list[str]) -> list[str]:
    """The in_network rule's pair tables (its layer tables and records sit beside them)."""
    return [results_path(root, IN_NETWORK, f"{k}.csv") for k in keys]


def in_network_layer_outputs(root: str, keys: list[str]) -> list[str]:
    return [results_path(root, IN_NETWORK, f"{k}.layers.csv") for k in keys]


def op_arg(op: str) -> str:
    """A command's --op: the operator's name, or for an external one its spec file (operators.operator_ref)."""
    return operator_ref(op)


__all__ = ["IN_NETWORK", "compile_operators", "in_network_keys", "in_network_layer_outputs", "in_network_outputs", "ALL", "DEFAULT_EXPERIMENT", "MANIFEST", "RESULTS_ROOT", "results_dir", "results_path", "compile_inputs", "compile_spec_args", "engine_outputs", "manifest_outputs", "stale_tables", "own_library_specs", "PROFILE", "RULE_READS", "TUNE_CHOICE", "TUNE_TABLE", "compare_keys", "tune_operators", "tune_outputs", "tune_path", "conformance_outputs",
           "cuda_architectures", "gpu_identity", "manifest_arg", "manifest_for", "op_arg", "operator_names", "plan_sweeps",
           "plugin_kernel", "rule_settings", "sample_outputs", "sweep_outputs", "thread_keys", "tune_input", "tune_planned",
           "uses_tune"]
