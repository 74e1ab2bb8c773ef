"""The run summary (summary.md): the facts needed to trust a run, from its tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..commands.sweeps import FULL_SWEEP_SWITCH
from .analysis import (
    SMALL_TENSOR_ALLOWANCE_US,
    by_state,
    compare_targets,
    expected_disagreements,
    ratio_table,
    repeat_agreement,
)
from .figures import plan_from_tables


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
    # the figures step runs after this one and draws what these tables support
    _, no_figure = plan_from_tables(device["backend"], {"latency": lat, "calibration": cal, "dynamic": dyn, "threads": th,
                                                        "kernel": kern, "compare": cmp, "tune": read("tune")})
    if device.get("skipped") or cut or no_figure:
        lines += ["## Left out", ""]
    if device.get("skipped"):
        lines += ["Combinations this backend cannot build (each with the reason):", ""]
        lines += [f"- {reason}" for reason in device["skipped"]] + [""]
    if cut:
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
            plugin, native = ratio["numerator"].iloc[0], ratio["denominator"].iloc[0]
            lines += ["", f"## {plugin} ÷ {native} (TensorRT's own layers), timed in separate rules (median latency)", "",
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
    lines += accuracy_lines(read("accuracy"))
    lines += in_network_lines(read("in_network"))
    Path(out_md).write_text("\n".join(lines) + "\n")


def _us(value: object) -> str:
    v = float(value)  # type: ignore[arg-type]
    return f"{v:.1f}" if np.isfinite(v) else "n/a"


def in_network_lines(pairs: pd.DataFrame) -> list[str]:
    """summary.md's in_network section: one sentence per block pair (in_network.sentence: the cost
    against the twin, how TensorRT built the twin and the plugin's edges, read from the engines), then
    the table behind them."""
    if pairs.empty:
        return []
    lines = ["", "## In the network: the plugin between real neighbours, against its native twin (the in_network rule)", ""]
    if (pairs["backend"] == "reference").all():
        lines += [f"**{pairs['label'].iloc[0]}.** These rows only show that the rule and the block functions run.", ""]
    for _, r in pairs.sort_values(["operator", "block", "dtype", "elements"]).iterrows():
        flag = "" if bool(r["verified"]) else f" **(output check failed: {r['check_message']})**"
        lines.append(f"- {r['operator']}: {r['sentence']}{flag}.")
    lines += ["", "| operator | block | shape | dtype | plugin µs | twin µs | plugin ÷ twin | A/A | plugin layer µs "
              "(in block / alone / overhead; its kernel direct) | reformats (plugin / twin engine) | plugin edges | twin built as |",
              "|---|---|---|---|---:|---:|---:|---:|---|---|---|---|"]
    for _, r in pairs.sort_values(["operator", "block", "dtype", "elements"]).iterrows():
        layer = ("n/a" if not np.isfinite(float(r["plugin_layer_us"])) else
                 f"{r['plugin_layer_us']:.1f} / {r['plugin_alone_us']:.1f} / {r['integration_overhead_us']:+.1f}; "
                 f"{_us(r.get('plugin_direct_us', math.nan))}")
        lines.append(f"| {r['operator']} | {r['block']} | {r['shape']} | {r['dtype']} | {r['median_plugin_us']:.1f} | "
                     f"{r['median_twin_us']:.1f} | {r['ratio']:.3f} ± {r['ratio_se']:.3f} | {r['control_ratio']:.3f} | "
                     f"{layer} | {int(r['reformats_plugin'])} / {int(r['reformats_twin'])} | "
                     f"{r['plugin_in_format'] if isinstance(r['plugin_in_format'], str) else ''} | {r['twin_built_as']} |")
    return lines + [""]


def accuracy_lines(acc: pd.DataFrame) -> list[str]:
    """summary.md's accuracy section: per operator, dtype and side (the plugin, TensorRT's own
    layers) the largest and mean error in ulps of the output dtype on random and edge inputs; a
    side outside its tolerance with its worst inputs."""
    if acc.empty:
        return []
    lines = ["", "## Accuracy (ulps of the output dtype, against the float64 reference)", "",
             "A plugin outside its tolerance fails its engine; TensorRT's own layers (the native twin) outside "
             "theirs are reported here and timed all the same.", "",
             "| operator | dtype | side | inputs | max ulp | mean ulp | within tolerance | tolerance |",
             "|---|---|---|---|---:|---:|---|---|"]
    keys = ["operator", "dtype", "side", "inputs"]
    agg = acc.groupby(keys, sort=True).agg(max_ulp=("max_ulp_err", "max"), mean_ulp=("mean_ulp_err", "mean"),
                                           ok=("within_tolerance", "all"), tolerance=("tolerance", "first"))
    for (op, dtype, side, inputs), r in agg.iterrows():
        lines.append(f"| {op} | {dtype} | {side} | {inputs} | {r['max_ulp']:.3g} | {r['mean_ulp']:.3g} | "
                     f"{'yes' if r['ok'] else '**no**'} | {r['tolerance']} |")
    bad = acc[~acc["within_tolerance"].astype(bool)]
    if not bad.empty:
        lines += ["", "Outside the tolerance (the worst inputs):", ""]
        lines += [f"- {r['operator']} {r['dtype']} {r['side']} ({r['inputs']} inputs, {r['profile']} {r['shape']}): "
                  f"{r['worst']}" for _, r in bad.iterrows()]
    return lines + [""]
