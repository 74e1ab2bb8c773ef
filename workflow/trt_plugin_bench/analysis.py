"""Derived tables: plugin/native ratios, repeat agreement, roofline checks, the run summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .stats import TimingSummary, agree_within_noise

# CUDA events tick at about half a microsecond; perf_counter far finer.
CLOCK_RESOLUTION_S = {"cuda_event": 0.5e-6, "cpu_perf_counter": 1e-7}


def _by_state(latency: pd.DataFrame) -> pd.DataFrame:
    """Median over repeats of each (operator, dtype, profile, shape, mode) state."""
    keys = ["backend", "operator", "dtype", "profile", "shape", "elements", "mode"]
    return latency.groupby(keys, as_index=False).agg(median_us=("median_us", "median"),
                                                      bandwidth_gbs=("bandwidth_gbs", "median"),
                                                      pct_of_copy_ceiling=("pct_of_copy_ceiling", "median"))


def ratio_table(latency: pd.DataFrame, numerator: str = "swish_plugin", denominator: str = "swish_native") -> pd.DataFrame:
    """Latency of ``numerator`` / ``denominator`` for every state both were measured in."""
    if latency.empty:
        return pd.DataFrame()
    s = _by_state(latency)
    keys = ["backend", "dtype", "profile", "shape", "elements", "mode"]
    a = s[s["operator"] == numerator][keys + ["median_us"]]
    b = s[s["operator"] == denominator][keys + ["median_us"]]
    m = a.merge(b, on=keys, suffixes=("_plugin", "_native"))
    m["ratio"] = m["median_us_plugin"] / m["median_us_native"]
    m["difference_us"] = m["median_us_plugin"] - m["median_us_native"]
    m["numerator"], m["denominator"] = numerator, denominator
    return m.sort_values(["dtype", "profile", "mode", "elements"]).reset_index(drop=True)


def _summary(row: pd.Series) -> TimingSummary:
    return TimingSummary(n=int(row["n"]), min=row["min_us"], median=row["median_us"], mean=row["mean_us"],
                         p90=row["p90_us"], p99=row["p99_us"], max=row["max_us"], stdev=row["stdev_us"],
                         median_se=row["median_se_us"], stop_reason=row["stop_reason"])


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


def write_summary(tables_dir: Path, device: dict, out_md: Path) -> None:
    """A short human-readable summary of the run, with the facts needed to trust it."""
    def read(name: str) -> pd.DataFrame:
        p = Path(tables_dir) / f"{name}.csv"
        return pd.read_csv(p) if p.exists() and p.stat().st_size > 0 else pd.DataFrame()

    lat, cal, dyn, rt, th, kern = (read(n) for n in ("latency", "calibration", "dynamic", "roundtrip", "threads", "kernel"))
    lines = [f"# Run summary: {device['backend_label']}", "",
             f"- date: {device.get('date', '')}", f"- device: {device['device_name']}",
             f"- driver: {device['driver_version']}; CUDA: {device['cuda_version']}; TensorRT: {device['tensorrt_version']}",
             f"- timing clock: {device['timing_clock']}; git commit: {device.get('git_commit', '')}", ""]
    if device["backend"] == "reference":
        lines += ["**CPU reference backend: every time below is a numpy CPU timing, not TensorRT.**", ""]
    if not cal.empty:
        copies = cal[cal["measurement"] == "copy"]
        lines.append("## Calibration")
        lines.append("")
        lines.append("| measurement | bytes | median µs | GB/s | rse % |")
        lines.append("|---|---:|---:|---:|---:|")
        for _, r in cal.iterrows():
            lines.append(f"| {r['measurement']} | {int(r['bytes'])} | {r['median_us']:.2f} | {r['bandwidth_gbs']:.1f} | {100 * r['rse']:.2f} |")
        if len(copies):
            lines += ["", f"Copy ceiling (read + write): **{copies['bandwidth_gbs'].max():.1f} GB/s**", ""]
    if not lat.empty:
        s = _by_state(lat)
        big = s.sort_values("elements").groupby(["operator", "dtype", "profile", "mode"]).tail(1)
        lines += ["## Largest tensor per operator", "", "| operator | dtype | profile | shape | mode | median µs | GB/s | % of copy ceiling |",
                  "|---|---|---|---|---|---:|---:|---:|"]
        for _, r in big.sort_values(["profile", "dtype", "operator", "mode"]).iterrows():
            lines.append(f"| {r['operator']} | {r['dtype']} | {r['profile']} | {r['shape']} | {r['mode']} | "
                         f"{r['median_us']:.2f} | {r['bandwidth_gbs']:.1f} | {r['pct_of_copy_ceiling']:.1f} |")
        ratio = ratio_table(lat)
        if not ratio.empty:
            lines += ["", "## Swish plugin ÷ TensorRT-native sigmoid×mul (median latency)", "",
                      "| dtype | profile | mode | shape | plugin µs | native µs | ratio |", "|---|---|---|---|---:|---:|---:|"]
            for _, r in ratio.iterrows():
                lines.append(f"| {r['dtype']} | {r['profile']} | {r['mode']} | {r['shape']} | {r['median_us_plugin']:.2f} | "
                             f"{r['median_us_native']:.2f} | {r['ratio']:.3f} |")
        agree = repeat_agreement(lat)
        if not agree.empty:
            lines += ["", f"Repeat agreement (two measurements of each state within 3× combined SE): "
                      f"{int(agree['agree'].sum())} of {len(agree)} states agree.", ""]
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
    if not th.empty:
        lines.append(f"Thread sweep: {int(th['inferences'].sum())} inferences, {int(th['failures'].sum())} wrong outputs; "
                     f"up to {int(th['threads'].max())} threads.")
    Path(out_md).write_text("\n".join(lines) + "\n")
