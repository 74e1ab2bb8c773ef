"""The pieces of the Snakemake DAG that are plain Python: which sweeps exist, what each rule's
params hold, where outputs go. Kept here (not in .smk files) so they are unit-tested."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess

from .operators import (
    AUTO_KERNEL,
    OperatorSpec,
    dtype_support,
    get_operator,
    operator_names,
    operator_ref,
    plugin_kernel,
    resolve_operators,
    sweep_key,
    tensorrt_support,
)

MANIFEST = "results/build/manifest.json"
TUNE_CHOICE = "results/tune/choice.json"
TUNE_TABLE = "results/tune/tune.csv"


def uses_tune(op: str, config: dict, dtype: str) -> bool:
    """Whether (op, dtype) runs the tune rule's choice table (plugin_kernel auto for that dtype)."""
    return get_operator(op).kernel == "optimised" and plugin_kernel(op, config, dtype) == AUTO_KERNEL


def tune_planned(config: dict, keys: list[str]) -> bool:
    """The tune rule is in the DAG when a planned sweep runs the choice table (an explicit
    plugin_kernel skips it)."""
    return any(uses_tune(op, config, dtype) for op, dtype, _ in (k.split("__") for k in keys))


def tune_input(op: str, config: dict, dtype: str) -> list[str]:
    """build_engine's dependency on the choice table: only where (op, dtype) runs it, so an explicit
    kernel, ReLU or the native twin never waits for (or reruns after) the tune rule."""
    return [TUNE_CHOICE] if uses_tune(op, config, dtype) else []


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


def cuda_architectures(config: dict, backend: str) -> str:
    """CMAKE_CUDA_ARCHITECTURES for the compile rule: compile.cuda_architectures, or for auto the
    present GPU's compute capability ("9.0" -> "90"), or "" (the compiler's default) without one."""
    chosen = str(config.get("compile", {}).get("cuda_architectures", "auto"))
    if chosen != "auto":
        return chosen
    cap = _nvidia_smi("compute_cap") if backend == "tensorrt" else None
    return cap.replace(".", "") if cap else ""


def own_library_specs(config: dict) -> list[OperatorSpec]:
    """The configured operators whose plugin library is their own (a spec's CMake folder or
    prebuilt .so, not plugin/): the compile rule builds or checks them too."""
    out = []
    for spec in resolve_operators(config["operators"]):
        lib = spec.plugin.library if spec.plugin is not None else None
        if lib is not None and not lib.project_plugin and spec.path is not None and all(s.path != spec.path for s in out):
            out.append(spec)
    return out


def compile_inputs(config: dict) -> list[str]:
    """The compile rule's inputs beyond plugin/: each own-library spec file and every source,
    header and CMake file of its CMake folder, so an edit there reruns the rule (and what needs it)."""
    from .compile import spec_library_sources

    return [str(p) for p in spec_library_sources(own_library_specs(config))]


def compile_spec_args(config: dict) -> str:
    """The compile command's ``--spec FILE`` for each own-library spec (also a param: a changed
    list reruns the rule)."""
    return " ".join(f"--spec {shlex.quote(str(s.path))}" for s in own_library_specs(config))


def plan_sweeps(config: dict, backend: str, trt_major: int | None) -> tuple[list[str], list[str]]:
    """Sweep keys (operator__dtype__profile) the backend can build, and why others are skipped."""
    keys: list[str] = []
    skipped: list[str] = []
    for op in operator_names(config):
        for dtype in config["dtypes"]:
            why = tensorrt_support(op, dtype, trt_major) if backend == "tensorrt" and trt_major is not None else None
            why = why or dtype_support(op, dtype)
            if why:
                skipped.append(f"{op}/{dtype}: {why}")
                continue
            keys.extend(sweep_key(op, dtype, profile) for profile in config["profiles"])
    return keys, skipped


def compare_keys(config: dict, keys: list[str]) -> list[str]:
    """Compare outputs (a__vs__b__dtype__profile) for each configured pair both of whose engines
    are planned on this backend."""
    if not config["compare"]["enabled"]:
        return []
    planned = set(keys)
    out = []
    for a, b in config["compare"]["pairs"]:
        for dtype in config["dtypes"]:
            for profile in config["profiles"]:
                if sweep_key(a, dtype, profile) in planned and sweep_key(b, dtype, profile) in planned:
                    out.append(f"{a}__vs__{b}__{dtype}__{profile}")
    return out


def thread_keys(config: dict, keys: list[str]) -> list[str]:
    profile = config["threads"].get("profile") or next(iter(config["profiles"]))
    return [k for k in keys if k.endswith(f"__{profile}")]


def cfg_json(**parts: object) -> str:
    """The config keys a rule uses, as JSON: its params, so only changes to them rerun it."""
    return json.dumps(parts, sort_keys=True)


def manifest_for(op: str) -> str | list:
    """Only plugin engines depend on the compiled plugin: a kernel edit leaves ReLU alone."""
    return MANIFEST if get_operator(op).uses_plugin else []


def manifest_arg(manifest: object) -> str:
    return f"--manifest {manifest}" if manifest else ""


def sweep_outputs(kind: str, keys: list[str]) -> list[str]:
    return [f"results/{kind}/{k}.csv" for k in keys]


def sample_outputs(keys: list[str]) -> list[str]:
    """The latency rule's raw samples of each sweep (samples.py), which the log rule logs."""
    return [f"results/samples/{k}.npz" for k in keys]


def conformance_outputs(config: dict) -> list[str]:
    """The conformance rule's reports: one per configured operator (conformance.enabled)."""
    if not config.get("conformance", {}).get("enabled", True):
        return []
    return [f"results/conformance/{op}.json" for op in operator_names(config)]


def builder_cfg(config: dict, profile: str) -> dict:
    """Builder settings of one engine. The thread-sweep engines carry one optimization profile per
    thread: TensorRT 8.6 runs one execution context per profile at a time."""
    cfg = dict(config.get("builder", {}))
    threads_profile = config["threads"].get("profile") or next(iter(config["profiles"]))
    if profile == threads_profile:
        cfg["profiles_per_engine"] = max(cfg.get("profiles_per_engine", 1), max(config["threads"]["counts"]))
    extra_work = int(config.get("reference", {}).get("extra_work", 0))
    if extra_work:  # the reference backend's planted slowdown (backends/reference.py): in the engine, so it rebuilds
        cfg["reference_extra_work"] = extra_work
    return cfg


def op_arg(op: str) -> str:
    """A command's --op: the operator's name, or for an external one its spec file (operators.operator_ref)."""
    return operator_ref(op)


__all__ = ["MANIFEST", "compile_inputs", "compile_spec_args", "own_library_specs", "op_arg", "operator_names", "TUNE_CHOICE", "TUNE_TABLE", "builder_cfg", "conformance_outputs", "cuda_architectures", "gpu_identity",
           "tune_input", "tune_planned", "uses_tune", "cfg_json", "compare_keys", "manifest_arg", "manifest_for", "plan_sweeps", "plugin_kernel",
           "sample_outputs", "sweep_outputs", "thread_keys"]
