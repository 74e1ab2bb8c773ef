"""Derived tables: plugin/native ratios, repeat agreement, roofline checks, the run summary."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .stats import TimingSummary, agree_within_noise

# CUDA events tick at about half a microsecond; perf_counter far finer.
CLOCK_RESOLUTION_S = {"cuda_event": 0.5e-6, "cpu_perf_counter": 1e-7}
# cudaMemcpy ("copy") and the copy kernel in any block size ("copy_kernel", "copy_kernel_b1024", ...)
COPY_MEASUREMENT = r"copy(_kernel(_b\d+)?)?"

# Issue 5's bar: the plugin no slower than native (median ratio <= 1) for tensors of at least 1 MiB,
# within 1 µs of it below (where both are a few µs of fixed cost).
RATIO_TARGET_MIN_BYTES = 1 << 20
SMALL_TENSOR_ALLOWANCE_US = 1.0


def is_copy(calibration: pd.DataFrame) -> pd.Series:
    """Which calibration rows are copies (candidates for the ceiling), not launch floors."""
    return calibration["measurement"].str.fullmatch(COPY_MEASUREMENT)


def copy_ceiling(calibration: pd.DataFrame, l2_bytes: int) -> float | None:
    """The memory roofline: the best copy bandwidth, cudaMemcpy or a 16-byte copy kernel, among
    buffers of at least 4x the L2 (a copy of an L2-resident buffer measures the cache, not HBM);
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


def ratio_table(latency: pd.DataFrame, numerator: str = "swish_plugin", denominator: str = "swish_native") -> pd.DataFrame:
    """Latency of ``numerator`` / ``denominator`` for every state both were measured in."""
    if latency.empty:
        return pd.DataFrame()
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


def _cut_by_size_limit(dynamic: pd.DataFrame) -> tuple[str, int, dict[str, list[str]]] | None:
    """The shapes the CPU reference backend's size limit left out, from the dynamic table's
    skipped rows (their message names the limit: sweeps.over_limit): (key, limit, {profile: shapes})."""
    if dynamic.empty or "status" not in dynamic:
        return None
    skipped = dynamic[dynamic["status"] == "skipped"]
    found = skipped["message"].astype(str).str.extract(r"> (reference\.\w+) (\d+)").dropna()
    if found.empty:
        return None
    key, limit = found.iloc[0, 0], int(found.iloc[0, 1])
    rows = skipped.loc[found.index].drop_duplicates(["profile", "shape"]).sort_values(["profile", "elements"])
    shapes = {str(profile): list(group["shape"].astype(str)) for profile, group in rows.groupby("profile", sort=False)}
    return key, limit, shapes


def write_summary(tables_dir: Path, device: dict, out_md: Path) -> None:
    """A short human-readable summary of the run, with the facts needed to trust it."""
    def read(name: str) -> pd.DataFrame:
        p = Path(tables_dir) / f"{name}.csv"
        return pd.read_csv(p) if p.exists() and p.stat().st_size > 0 else pd.DataFrame()

    lat, cal, dyn, rt, th, kern, cmp = (read(n) for n in ("latency", "calibration", "dynamic", "roundtrip", "threads",
                                                          "kernel", "compare"))
    lines = [f"# Run summary: {device['backend_label']}", "",
             f"- date: {device.get('date', '')}", f"- device: {device['device_name']}",
             f"- driver: {device['driver_version']}; CUDA: {device['cuda_version']}; TensorRT: {device['tensorrt_version']}",
             f"- timing clock: {device['timing_clock']}; git commit: {device.get('git_commit', '')}", ""]
    on_cpu = device["backend"] == "reference"
    if on_cpu:
        lines += ["**CPU reference backend: every time below is a numpy CPU timing, not TensorRT.**", ""]
    cut = _cut_by_size_limit(dyn)
    from .figures import plan_from_tables  # here: figures imports this module

    # the figures step runs after this one and draws what these tables support
    _, no_figure = plan_from_tables(device["backend"], {"latency": lat, "calibration": cal, "dynamic": dyn, "threads": th,
                                                        "kernel": kern, "compare": cmp, "tune": read("tune")})
    if device.get("skipped") or cut or no_figure:
        lines += ["## Left out", ""]
    if device.get("skipped"):
        lines += ["Combinations this backend cannot build (each with the reason):", ""]
        lines += [f"- {reason}" for reason in device["skipped"]] + [""]
    if cut:
        from .sweeps import FULL_SWEEP_SWITCH

        key, limit, shapes = cut
        how = (f"`{FULL_SWEEP_SWITCH}` runs them (the full CPU sweep; README for its time)."
               if key == "reference.max_elements" else f"they would only time numpy; a larger {key} runs them.")
        lines += [f"Shapes above {key} ({limit} elements), left out of every sweep on the CPU reference "
                  f"backend: {sum(map(len, shapes.values()))}. {how}", ""]
        lines += [f"- {profile}: {', '.join(names)}" for profile, names in shapes.items()] + [""]
    if no_figure:
        lines += ["Figures not drawn, each with the reason:", ""]
        lines += [f"- {name}: {why}" for name, why in no_figure.items()] + [""]
    if not cal.empty:
        lines.append("## Calibration")
        lines.append("")
        lines.append("| measurement | start | bytes | median µs | GB/s | rse % |")
        lines.append("|---|---|---:|---:|---:|---:|")
        for _, r in cal.iterrows():
            lines.append(f"| {r['measurement']} | {r.get('start', '')} | {int(r['bytes'])} | {r['median_us']:.2f} | "
                         f"{r['bandwidth_gbs']:.1f} | {100 * r['rse']:.2f} |")
        ceiling = device.get("copy_ceiling_gbs")
        if ceiling:
            lines += ["", f"Copy ceiling (read + write, buffers of at least 4× the L2): **{ceiling:.1f} GB/s**", ""]
    if not lat.empty:
        s = by_state(lat)
        big = s.sort_values("elements").groupby(["operator", "dtype", "profile", "mode"]).tail(1)
        lines += ["## Largest tensor per operator", "", "| operator | dtype | profile | shape | mode | median µs | GB/s | % of copy ceiling |",
                  "|---|---|---|---|---|---:|---:|---:|"]
        for _, r in big.sort_values(["profile", "dtype", "operator", "mode"]).iterrows():
            lines.append(f"| {r['operator']} | {r['dtype']} | {r['profile']} | {r['shape']} | {r['mode']} | "
                         f"{r['median_us']:.2f} | {r['bandwidth_gbs']:.1f} | {r['pct_of_copy_ceiling']:.1f} |")
        if not cmp.empty:
            c = compare_targets(cmp)
            bias = (c["control_ratio"] - 1.0).abs()
            # the targets are GPU targets: on the CPU reference backend a "no" would mean nothing
            target = ("The speed targets are judged on a GPU backend only; these are CPU timings." if on_cpu else
                      f"Target: ratio ≤ 1.00 for tensors ≥ 1 MiB, at most {SMALL_TENSOR_ALLOWANCE_US:g} µs slower below. "
                      f"Met in {int(c['meets_target'].sum())} of {len(c)} rows.")
            lines += ["", "## Plugin ÷ native, timed interleaved (the compare rule)", "",
                      f"{target} Both engines ran on shared input, "
                      "output and flush buffers; b′ ÷ b is the A/A control (b timed twice per round): "
                      f"|b′ ÷ b − 1| median {100 * bias.median():.2f} %, largest {100 * bias.max():.2f} %.", "",
                      "| a ÷ b | dtype | profile | shape | MiB | mode | a µs | b µs | ratio ± se | a − b µs | b′ ÷ b |"
                      + ("" if on_cpu else " meets |"),
                      "|---|---|---|---|---:|---|---:|---:|---:|---:|---:|" + ("" if on_cpu else "---|")]
            for _, r in c.iterrows():
                meets = "" if on_cpu else f" {'yes' if r['meets_target'] else '**no**'} |"
                lines.append(f"| {r['operator_a']} ÷ {r['operator_b']} | {r['dtype']} | {r['profile']} | {r['shape']} | "
                             f"{r['tensor_bytes'] / 2**20:.3g} | {r['mode']} | {r['median_a_us']:.2f} | {r['median_b_us']:.2f} | "
                             f"{r['ratio']:.4f} ± {r['ratio_se']:.4f} | {r['difference_us']:+.2f} | "
                             f"{r['control_ratio']:.4f} |{meets}")
        ratio = ratio_table(lat)
        if not ratio.empty:
            lines += ["", "## Swish plugin ÷ TensorRT-native sigmoid×mul, timed in separate rules (median latency)", "",
                      "| dtype | profile | mode | shape | plugin µs | native µs | ratio |", "|---|---|---|---|---:|---:|---:|"]
            for _, r in ratio.iterrows():
                lines.append(f"| {r['dtype']} | {r['profile']} | {r['mode']} | {r['shape']} | {r['median_us_plugin']:.2f} | "
                             f"{r['median_us_native']:.2f} | {r['ratio']:.3f} |")
        agree = repeat_agreement(lat)
        if not agree.empty:
            lines += ["", "## Repeat agreement", "",
                      "Each state measured twice (GPU-time modes back to back; idle-start modes each in visits "
                      "spread over the whole rule, noise from the visit medians); they agree when the medians differ by at most 3× "
                      "their combined standard error (the reported noise). Honest noise still lets "
                      f"{100 * math.erfc(3 / math.sqrt(2)):.2f} % of states disagree by chance.", "",
                      "| mode | states | agree | disagree | expected by chance |", "|---|---:|---:|---:|---:|"]
            for mode, grp in agree.groupby("mode"):
                lines.append(f"| {mode} | {len(grp)} | {int(grp['agree'].sum())} | {int((~grp['agree']).sum())} | "
                             f"{expected_disagreements(len(grp)):.1f} |")
            lines += [f"| all | {len(agree)} | {int(agree['agree'].sum())} | {int((~agree['agree']).sum())} | "
                      f"{expected_disagreements(len(agree)):.1f} |", ""]
        cold = lat[lat["mode"] == "cold"]
        if len(cold) and cold["pct_of_copy_ceiling"].notna().any():
            lines.append(f"Highest cold-mode achieved bandwidth: {cold['pct_of_copy_ceiling'].max():.1f} % of the copy ceiling.")
        thr = int(lat["throttled"].astype(bool).sum())
        lines.append(f"Rows flagged as throttled: {thr} of {len(lat)}.")
    if not kern.empty:
        k = kern.sort_values("elements").groupby(["kernel", "dtype", "mode"]).tail(1)
        lines += ["", "## Direct kernel path (no TensorRT), largest size", "", "| kernel | dtype | mode | elements | µs | GB/s | % of copy ceiling |",
                  "|---|---|---|---:|---:|---:|---:|"]
        for _, r in k.sort_values(["dtype", "mode", "kernel"]).iterrows():
            lines.append(f"| {r['kernel']} | {r['dtype']} | {r['mode']} | {int(r['elements'])} | {r['median_us']:.2f} | "
                         f"{r['bandwidth_gbs']:.1f} | {r['pct_of_copy_ceiling']:.1f} |")
    if not dyn.empty:
        lines += ["", f"Dynamic shapes: {int((dyn['status'] == 'ok').sum())} ok, "
                  f"{int((dyn['status'] == 'rejected').sum())} out-of-profile shapes rejected, "
                  f"{int((dyn['status'] == 'failed').sum())} failed, {int((dyn['status'] == 'skipped').sum())} skipped."]
    if not rt.empty:
        lines.append(f"Round trips bit-identical in a separate process: {int(rt['bit_identical'].astype(bool).sum())} of {len(rt)}.")
    py = th[th["driver"].fillna("python") == "python"] if "driver" in th else th
    if not py.empty:  # the Python serving loop (the native runner's rows have their own section)
        lines.append(f"Thread sweep (Python serving): {int(py['inferences'].sum())} inferences, "
                     f"{int(py['failures'].sum())} wrong outputs; up to {int(py['threads'].max())} threads.")
    Path(out_md).write_text("\n".join(lines) + "\n")
