"""Seaborn figures of the aggregated tables, one file per figure.

Every figure's title names what produced the numbers (TensorRT on a GPU, or the CPU reference
backend), with the device, driver, TensorRT version and date, so a PNG read alone still says
what it shows.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .analysis import (  # noqa: E402
    SMALL_TENSOR_ALLOWANCE_US,
    compare_targets,
    is_copy,
    ratio_table,
)

FIGURES = ("latency", "bandwidth", "plugin_vs_native", "compare", "modes", "dynamic_shapes", "thread_scaling",
           "calibration", "kernels")


def _title(device: dict, what: str) -> str:
    clock = "CPU timings (numpy), not TensorRT" if device["backend"] == "reference" else "GPU timings (CUDA events)"
    return (f"{what}\n{device['backend_label']} | {clock}\n"
            f"driver {device['driver_version']}, TensorRT {device['tensorrt_version']}, {device.get('date', '')}")


def _empty(out: Path, device: dict, what: str, why: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.axis("off")
    ax.text(0.5, 0.5, f"no data: {why}", ha="center", va="center", fontsize=12, wrap=True)
    fig.suptitle(_title(device, what), fontsize=9, y=1.0, va="bottom")
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _save(grid_or_fig, out: Path, device: dict, what: str) -> None:  # noqa: ANN001
    fig = grid_or_fig.figure if hasattr(grid_or_fig, "figure") else grid_or_fig
    fig.suptitle(_title(device, what), fontsize=9, y=1.0, va="bottom")  # above the facet titles
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)


def latency(lat: pd.DataFrame, device: dict, out: Path) -> None:
    what = "Median latency vs tensor size"
    if lat.empty:
        return _empty(out, device, what, "no latency rows")
    g = sns.relplot(data=lat, x="elements", y="median_us", hue="operator", style="dtype", col="mode", row="profile",
                    kind="line", markers=True, dashes=False, errorbar=None, height=3.6, aspect=1.2,
                    facet_kws={"sharey": False, "sharex": False})
    g.set(xscale="log", yscale="log")
    g.set_axis_labels("elements per tensor", "median latency (µs)")
    _save(g, out, device, what)


def bandwidth(lat: pd.DataFrame, cal: pd.DataFrame, device: dict, out: Path) -> None:
    what = "Achieved bandwidth (bytes read + written) vs tensor size: the roofline"
    if lat.empty:
        return _empty(out, device, what, "no latency rows")
    data = lat.assign(tensor_mib=lat["bytes_moved"] / 2 / 2**20)
    g = sns.relplot(data=data, x="tensor_mib", y="bandwidth_gbs", hue="operator", style="dtype", col="mode",
                    kind="line", markers=True, dashes=False, errorbar=None, height=3.8, aspect=1.2)
    g.set(xscale="log")
    g.set_axis_labels("tensor size (MiB)", "achieved bandwidth (GB/s)")
    ceiling = device.get("copy_ceiling_gbs")
    l2_mib = device.get("l2_bytes", 0) / 2**20
    for ax in g.axes.flat:
        if ceiling:
            ax.axhline(ceiling, color="black", linestyle="--", linewidth=1)
            ax.text(ax.get_xlim()[0], ceiling, f" measured copy ceiling {ceiling:.0f} GB/s", va="bottom", fontsize=7)
        if l2_mib:
            ax.axvline(l2_mib, color="grey", linestyle=":", linewidth=1)
            ax.text(l2_mib, ax.get_ylim()[1] * 0.95, " L2", fontsize=7, color="grey")
    _save(g, out, device, what)


def plugin_vs_native(lat: pd.DataFrame, device: dict, out: Path) -> None:
    what = "Swish plugin latency ÷ TensorRT-native sigmoid×mul latency (below 1 = plugin faster)"
    ratios = ratio_table(lat)
    naive = ratio_table(lat, numerator="swish_plugin_naive")
    both = pd.concat([ratios, naive], ignore_index=True) if not ratios.empty or not naive.empty else pd.DataFrame()
    if both.empty:
        return _empty(out, device, what, "swish_plugin and swish_native were not both measured")
    g = sns.relplot(data=both, x="elements", y="ratio", hue="numerator", style="dtype", col="mode", row="profile",
                    kind="line", markers=True, dashes=False, errorbar=None, height=3.4, aspect=1.2,
                    facet_kws={"sharex": False})
    g.set(xscale="log")
    g.set_axis_labels("elements per tensor", "latency ratio (plugin ÷ native)")
    for ax in g.axes.flat:
        ax.axhline(1.0, color="black", linewidth=1)
    _save(g, out, device, what)


def compare(cmp: pd.DataFrame, device: dict, out: Path) -> None:
    what = ("Plugin ÷ native, the two engines timed interleaved on shared buffers (a sample of each in turn), "
            f"± 1 SE; grey ×: A/A control (native ÷ native): target ≤ 1 at ≥ 1 MiB, ≤ native + "
            f"{SMALL_TENSOR_ALLOWANCE_US:g} µs below")
    if cmp.empty:
        return _empty(out, device, what, "no compare rows (compare.enabled, or a pair not built here)")
    data = compare_targets(cmp).assign(tensor_mib=lambda d: d["tensor_bytes"] / 2**20,
                                       pair=lambda d: d["operator_a"] + " ÷ " + d["operator_b"])
    g = sns.relplot(data=data, x="tensor_mib", y="ratio", hue="dtype", style="pair", col="profile", kind="line",
                    markers=True, dashes=False, errorbar=None, height=3.6, aspect=1.3, facet_kws={"sharex": False})
    for ax, (_, sub) in zip(g.axes.flat, data.groupby("profile", sort=False)):
        ax.errorbar(sub["tensor_mib"], sub["ratio"], yerr=sub["ratio_se"], fmt="none", ecolor="grey", linewidth=0.8)
        ax.axhline(1.0, color="black", linewidth=1)
        ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
        if "control_ratio" in sub:  # the A/A control: what the method reports for identical engines
            ax.scatter(sub["tensor_mib"], sub["control_ratio"], marker="x", s=18, color="grey", zorder=4)
        missed = sub[~sub["meets_target"]]
        ax.scatter(missed["tensor_mib"], missed["ratio"], s=80, facecolors="none", edgecolors="red", zorder=5)
    g.set(xscale="log")
    g.set_axis_labels("tensor size (MiB)", "median latency ratio (a ÷ b); red ring: target missed")
    _save(g, out, device, what)


def modes(lat: pd.DataFrame, device: dict, out: Path) -> None:
    what = ("Timing modes: warm and cold L2 (GPU time, blocked start); stream and CUDA-graph replay "
            "(latency from an idle stream, launch included)")
    if lat.empty:
        return _empty(out, device, what, "no latency rows")
    g = sns.relplot(data=lat, x="elements", y="median_us", hue="mode", style="dtype", col="operator", col_wrap=3,
                    kind="line", markers=True, dashes=False, errorbar=None, height=3.2, aspect=1.1,
                    facet_kws={"sharey": False})
    g.set(xscale="log", yscale="log")
    g.set_axis_labels("elements per tensor", "median latency (µs)")
    _save(g, out, device, what)


def dynamic_shapes(dyn: pd.DataFrame, device: dict, out: Path) -> None:
    what = "Dynamic shapes: one engine per profile, every shape checked and timed (warm)"
    ok = dyn[dyn["status"] == "ok"] if not dyn.empty else dyn
    if ok.empty:
        return _empty(out, device, what, "no dynamic-shape rows")
    g = sns.relplot(data=ok, x="elements", y="median_us", hue="operator", style="dtype", col="profile", kind="line",
                    markers=True, dashes=False, errorbar=None, height=3.6, aspect=1.2,
                    facet_kws={"sharex": False, "sharey": False})
    g.set(xscale="log", yscale="log")
    g.set_axis_labels("elements per tensor", "median latency (µs)")
    rejected = int((dyn["status"] == "rejected").sum())
    g.figure.text(0.01, -0.04, f"{rejected} out-of-profile shapes refused with a clear error (not plotted)", fontsize=8)
    _save(g, out, device, what)


def thread_scaling(th: pd.DataFrame, device: dict, out: Path) -> None:
    what = "Thread scaling: one engine, a context and a stream per thread, every output checked"
    if th.empty:
        return _empty(out, device, what, "no thread-sweep rows")
    g = sns.relplot(data=th, x="threads", y="throughput_per_s", hue="operator", style="dtype", kind="line",
                    markers=True, dashes=False, errorbar=None, height=3.8, aspect=1.4)
    g.set(xscale="log", xticks=sorted(th["threads"].unique()))
    g.set_xticklabels(sorted(th["threads"].unique()))
    g.set_axis_labels("threads", "inferences per second (host round trip incl. copies)")
    _save(g, out, device, what)


def calibration(cal: pd.DataFrame, device: dict, out: Path) -> None:
    what = "Calibration: device-to-device copy bandwidth and the empty-launch floor"
    if cal.empty:
        return _empty(out, device, what, "no calibration rows")
    copies = cal[is_copy(cal)].assign(mib=lambda d: d["bytes"] / 2 / 2**20)
    fig, ax = plt.subplots(figsize=(7, 4))
    sns.lineplot(data=copies, x="mib", y="bandwidth_gbs", hue="measurement", marker="o", ax=ax)
    ax.set_xscale("log")
    ax.set_xlabel("buffer size (MiB, copied once: bytes read + written counted)")
    ax.set_ylabel("copy bandwidth (GB/s)")
    for _, r in copies.iterrows():
        ax.annotate(f"{r['bandwidth_gbs']:.0f}", (r["mib"], r["bandwidth_gbs"]), fontsize=7,
                    textcoords="offset points", xytext=(0, 5), ha="center")
    ceiling = device.get("copy_ceiling_gbs")
    if ceiling:
        ax.axhline(ceiling, color="black", linestyle="--", linewidth=1)
    floors = cal[~is_copy(cal)]
    text = "; ".join(f"{r['measurement']}: {r['median_us']:.2f} µs" for _, r in floors.iterrows())
    ax.text(0.01, 0.02, text, transform=ax.transAxes, fontsize=8)
    _save(fig, out, device, what)


def kernels(kern: pd.DataFrame, cal: pd.DataFrame, device: dict, out: Path) -> None:
    what = "Direct kernel path (no TensorRT): naive vs vectorized Swish kernels against the copy ceiling"
    if kern.empty:
        return _empty(out, device, what, "the direct kernel path runs only on a GPU")
    data = kern.assign(tensor_mib=kern["bytes_moved"] / 2 / 2**20)
    g = sns.relplot(data=data, x="tensor_mib", y="bandwidth_gbs", hue="kernel", col="dtype", row="mode", kind="line",
                    markers=True, dashes=False, errorbar=None, height=3.2, aspect=1.2)
    g.set(xscale="log")
    g.set_axis_labels("tensor size (MiB)", "achieved bandwidth (GB/s)")
    ceiling = device.get("copy_ceiling_gbs")
    if ceiling:
        for ax in g.axes.flat:
            ax.axhline(ceiling, color="black", linestyle="--", linewidth=1)
            ax.axhline(0.92 * ceiling, color="red", linestyle=":", linewidth=1)
    _save(g, out, device, what)


def draw_all(tables: dict[str, pd.DataFrame], device: dict, out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sns.set_theme(style="whitegrid", context="paper")
    empty = pd.DataFrame()
    lat, cal = tables.get("latency", empty), tables.get("calibration", empty)
    latency(lat, device, out_dir / "latency.png")
    bandwidth(lat, cal, device, out_dir / "bandwidth.png")
    plugin_vs_native(lat, device, out_dir / "plugin_vs_native.png")
    compare(tables.get("compare", empty), device, out_dir / "compare.png")
    modes(lat, device, out_dir / "modes.png")
    dynamic_shapes(tables.get("dynamic", empty), device, out_dir / "dynamic_shapes.png")
    thread_scaling(tables.get("threads", empty), device, out_dir / "thread_scaling.png")
    calibration(cal, device, out_dir / "calibration.png")
    kernels(tables.get("kernel", empty), cal, device, out_dir / "kernels.png")
    return [out_dir / f"{name}.png" for name in FIGURES]
