"""The pieces of the Snakemake DAG that are plain Python: which sweeps exist, what each rule's
params hold, where outputs go. Kept here (not in .smk files) so they are unit-tested."""

from __future__ import annotations

import json

from .operators import OPERATORS, plugin_kernel, sweep_key, tensorrt_support

MANIFEST = "results/build/manifest.json"


def plan_sweeps(config: dict, backend: str, trt_major: int | None) -> tuple[list[str], list[str]]:
    """Sweep keys (operator__dtype__profile) the backend can build, and why others are skipped."""
    keys: list[str] = []
    skipped: list[str] = []
    for op in config["operators"]:
        for dtype in config["dtypes"]:
            why = tensorrt_support(op, dtype, trt_major) if backend == "tensorrt" and trt_major is not None else None
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
    return MANIFEST if OPERATORS[op].uses_plugin else []


def manifest_arg(manifest: object) -> str:
    return f"--manifest {manifest}" if manifest else ""


def sweep_outputs(kind: str, keys: list[str]) -> list[str]:
    return [f"results/{kind}/{k}.csv" for k in keys]


def builder_cfg(config: dict, profile: str) -> dict:
    """Builder settings of one engine. The thread-sweep engines carry one optimization profile per
    thread: TensorRT 8.6 runs one execution context per profile at a time."""
    cfg = dict(config.get("builder", {}))
    threads_profile = config["threads"].get("profile") or next(iter(config["profiles"]))
    if profile == threads_profile:
        cfg["profiles_per_engine"] = max(cfg.get("profiles_per_engine", 1), max(config["threads"]["counts"]))
    return cfg


__all__ = ["MANIFEST", "builder_cfg", "cfg_json", "compare_keys", "manifest_arg", "manifest_for", "plan_sweeps", "plugin_kernel",
           "sweep_outputs", "thread_keys"]
