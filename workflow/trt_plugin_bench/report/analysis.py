"""Derived tables: plugin/native ratios, repeat agreement, roofline checks (summary.py writes them up)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from ..core.operators import get_operator
from ..core.specs import TWIN_SUFFIX
from ..core.stats import TimingSummary, agree_within_noise

# CUDA events tick at about half a microsecond; perf_counter far finer.
CLOCK_RESOLUTION_S = {"cuda_event": 0.5e-6, "cpu_perf_counter": 1e-7}
# cudaMemcpy ("copy") and the copy kernel in any block size ("copy_kernel", "copy_kernel_b1024", ...), each
# also timed after the cold mode's L2 flush ("copy_cold", ...: calibration.gpu_calibration)
COPY_MEASUREMENT = r"copy(_kernel(_b\d+)?)?(_cold)?"

# Issue 5's bar: the plugin no slower than native (median ratio <= 1) for tensors of at least 1 MiB,
# within 1 µs of it below (where both are a few µs of fixed cost).
RATIO_TARGET_MIN_BYTES = 1 << 20
SMALL_TENSOR_ALLOWANCE_US = 1.0


def is_copy(calibration: pd.DataFrame) -> pd.Series:
    """Which calibration rows are copies (candidates for the ceiling), not launch floors."""
    return calibration["measurement"].str.fullmatch(COPY_MEASUREMENT)


def copy_ceiling(calibration: pd.DataFrame, l2_bytes: int) -> float | None:
    """The memory roofline: the best copy bandwidth, cudaMemcpy or a 16-byte copy kernel, timed warm or
    after the cold mode's flush (the cold states' own conditions), among buffers of at least 4x the L2 (a copy of an L2-resident buffer measures the cache, not HBM);
    the largest buffer if none is that big."""
    if calibration.empty:
        return None
    copies = calibration[is_copy(calibration)]
    if copies.empty:
        return None
    beyond = copies[copies["bytes"] / 2 >= 4 * int(l2_bytes or 0)]
    if beyond.empty:
        beyond = copies[copies["bytes"] == copies["bytes"].max()]
    return float(beyond["bandwidth_gbs"].max())


def by_state(latency: pd.DataFrame) -> pd.DataFrame:
    """Median over repeats of each (operator, dtype, profile, shape, mode) state."""
    keys = ["backend", "operator", "dtype", "profile", "shape", "elements", "mode"]
    return latency.groupby(keys, as_index=False).agg(median_us=("median_us", "median"),
                                                      bandwidth_gbs=("bandwidth_gbs", "median"),
                                                      pct_of_copy_ceiling=("pct_of_copy_ceiling", "median"))


def native_operator(name: str) -> str | None:
    """The operator that is plugin operator ``name``'s TensorRT-native twin in the tables: its spec's
    native_operator, else ``<name>_native`` when it has a native twin; None for a native operator
    (built-in or registered).

    A process handed only the tables (the aggregate and figures rules) knows the built-in specs, not a
    config's external ones: for an operator it does not know, the candidate is ``<name>_native``, the
    name the DAG gives a spec's native twin, and ratio_pair pairs it only where that operator was
    measured too."""
    try:
        spec = get_operator(name)
    except KeyError:
        return name + TWIN_SUFFIX
    if not spec.uses_plugin:
        return None
    if spec.native_operator:
        return spec.native_operator
    return spec.name + TWIN_SUFFIX if spec.native_twin else None


def ratio_pair(operators: Iterable[str]) -> tuple[str, str] | None:
    """(plugin, its native twin) both among ``operators``: the first plugin by name, or None."""
    present = set(operators)
    for name in sorted(present):
        twin = native_operator(name)
        if twin is not None and twin in present:
            return name, twin
    return None


def ratio_table(latency: pd.DataFrame, numerator: str | None = None, denominator: str | None = None) -> pd.DataFrame:
    """Latency of ``numerator`` / ``denominator`` for every state both were measured in; None: the
    pair ratio_pair finds in the table (a plugin and its TensorRT-native twin, by their specs)."""
    if latency.empty:
        return pd.DataFrame()
    if numerator is None or denominator is None:
        pair = ratio_pair(latency["operator"].astype(str).unique())
        if pair is None:
            return pd.DataFrame()
        numerator, denominator = pair
    s = by_state(latency)
    keys = ["backend", "dtype", "profile", "shape", "elements", "mode"]
    a = s[s["operator"] == numerator][keys + ["median_us"]]
    b = s[s["operator"] == denominator][keys + ["median_us"]]
    m = a.merge(b, on=keys, suffixes=("_plugin", "_native"))
    m["ratio"] = m["median_us_plugin"] / m["median_us_native"]
    m["difference_us"] = m["median_us_plugin"] - m["median_us_native"]
    m["numerator"], m["denominator"] = numerator, denominator
    return m.sort_values(["dtype", "profile", "mode", "elements"]).reset_index(drop=True)


def compare_targets(compare: pd.DataFrame) -> pd.DataFrame:
    """The compare table with ``target`` (what the row must meet) and ``meets_target``."""
    if compare.empty:
        return compare.assign(target=pd.Series(dtype=str), meets_target=pd.Series(dtype=bool))
    big = compare["tensor_bytes"] >= RATIO_TARGET_MIN_BYTES
    out = compare.copy()
    out["target"] = big.map({True: "ratio <= 1.00", False: f"difference <= {SMALL_TENSOR_ALLOWANCE_US:g} us"})
    out["meets_target"] = (big & (out["ratio"] <= 1.0)) | (~big & (out["difference_us"] <= SMALL_TENSOR_ALLOWANCE_US))
    return out.sort_values(["operator_a", "operator_b", "dtype", "profile", "elements"]).reset_index(drop=True)


def pick_kernel(kernels: pd.DataFrame, mode: str = "cold", min_tensor_bytes: int = RATIO_TARGET_MIN_BYTES) -> tuple[str, pd.DataFrame]:
    """The kernel whose worst slowdown against the best kernel at each (dtype, size) is smallest,
    over tensors of at least ``min_tensor_bytes``: the plugin runs one kernel at every shape, so
    it must never be far from the best anywhere. Returns the kernel and the slowdown table."""
    k = kernels[(kernels["mode"] == mode) & (kernels["bytes_moved"] / 2 >= min_tensor_bytes)]
    if k.empty:
        raise ValueError(f"no {mode} rows of tensors >= {min_tensor_bytes} bytes to pick a kernel from")
    table = k.pivot_table(index=["dtype", "elements"], columns="kernel", values="median_us")
    slowdown = table.div(table.min(axis=1), axis=0)
    worst = slowdown.max(axis=0).sort_values()
    return str(worst.index[0]), slowdown


def pick_kernels_per_dtype(kernels: pd.DataFrame, mode: str = "cold",
                           min_tensor_bytes: int = RATIO_TARGET_MIN_BYTES) -> dict[str, str]:
    """pick_kernel for each dtype on its own: an engine has one dtype, so its plugin needs only
    the kernel that is best for that dtype (config plugin_kernel accepts the map)."""
    return {str(dtype): pick_kernel(grp, mode, min_tensor_bytes)[0] for dtype, grp in kernels.groupby("dtype")}


def _summary(row: pd.Series) -> TimingSummary:
    return TimingSummary(n=int(row["n"]), min=row["min_us"], median=row["median_us"], mean=row["mean_us"],
                         p90=row["p90_us"], p99=row["p99_us"], max=row["max_us"], stdev=row["stdev_us"],
                         median_se=row["median_se_us"], stop_reason=row["stop_reason"])


def expected_disagreements(states: int, k: float = 3.0) -> float:
    """How many of ``states`` honest measurements disagree beyond k combined standard errors by
    chance alone (two-sided normal tail)."""
    return states * math.erfc(k / math.sqrt(2.0))


def repeat_agreement(latency: pd.DataFrame, k: float = 3.0) -> pd.DataFrame:
    """Do the repeated measurements of one state agree within k x their combined noise?"""
    out = []
    keys = ["backend", "operator", "dtype", "profile", "shape", "elements", "mode"]
    for key, grp in latency.groupby(keys):
        if len(grp) < 2:
            continue
        grp = grp.sort_values("repeat")
        first, second = grp.iloc[0], grp.iloc[1]
        res_us = CLOCK_RESOLUTION_S.get(str(first["timing_clock"]), 0.0) * 1e6
        ok = agree_within_noise(_summary(first), _summary(second), k=k, resolution=res_us)
        out.append({**dict(zip(keys, key)), "median_us_0": first["median_us"], "median_us_1": second["median_us"],
                    "se_us_0": first["median_se_us"], "se_us_1": second["median_se_us"], "agree": ok})
    return pd.DataFrame(out)
