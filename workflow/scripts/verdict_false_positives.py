"""The verdict's false-positive rate and power measured on real runs (issue 28): every pair of results folders
of the same code (A/A: FAST or SLOW is a false positive) and every pair of a same-code run and a planted
slowdown run (the plugin's states should be SLOW), judged by the verdict command's separate-run comparison.

    python workflow/scripts/verdict_false_positives.py --same results/a1 results/a2 results/a3 \
        --slow results/s1 [--out OUT_DIR] [--markdown FILE.md]

Each folder is a pipeline results folder (results/<experiment>/) of one setup; the --slow ones carry the planted
slowdown (reference.extra_work on the CPU). Prints one line per pair and the totals.

As the verdict command does on the CPU reference backend, plugin states the separate runs leave AMBIGUOUS (or
FAST/SLOW near the band) are re-timed interleaved in this process when both folders' MLflow runs
(mlflow/logged.json) show a baseline reproducible here (report/cpu_retime.py), at most --cpu-retime-max-s seconds a
pair (0: separate runs only); the totals count the final verdicts and say how many were re-timed.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trt_plugin_bench.report.cpu_retime import CpuRetime, RetimeSettings  # noqa: E402
from trt_plugin_bench.report.verdict import Settings, verdict  # noqa: E402

PLUGIN_IMPLEMENTATIONS = ("plugin_v2", "plugin_v3")


def judge_pairs(pairs: list[tuple[Path, Path]], out: Path, settings: Settings,
                retime: CpuRetime | None = None) -> list[dict]:
    rows = []
    for i, (base, cand) in enumerate(pairs):
        _, judged = verdict(base, cand, out / f"pair{i}", settings, refine=retime)
        for r in judged:
            rows.append({"baseline": str(base), "candidate": str(cand), "operator": r.operator, "dtype": r.dtype,
                         "shape": r.shape, "mode": r.mode, "verdict": r.verdict, "ratio": r.ratio,
                         "plugin": r.operator in plugin_operators(base), "retimed": "interleaved" in r.method})
    return rows


def plugin_operators(folder: Path) -> set[str]:
    import pandas as pd

    t = pd.read_csv(Path(folder) / "tables" / "latency.csv", usecols=["operator", "implementation"])
    return set(t[t["implementation"].isin(PLUGIN_IMPLEMENTATIONS)]["operator"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--same", nargs="+", type=Path, required=True, help="results folders of the same code")
    ap.add_argument("--slow", nargs="*", type=Path, default=[], help="results folders with the planted slowdown")
    ap.add_argument("--out", type=Path, help="where the verdict files go (default: a temporary folder)")
    ap.add_argument("--markdown", type=Path, help="also write the totals as a markdown table here")
    ap.add_argument("--cpu-retime-max-s", type=float, default=RetimeSettings.max_time_s,
                    help=f"CPU re-time budget per pair, seconds (default {RetimeSettings.max_time_s:g}; 0: none)")
    args = ap.parse_args(argv)
    settings = Settings(resamples=1000)
    retime = CpuRetime(RetimeSettings(max_time_s=args.cpu_retime_max_s)) if args.cpu_retime_max_s > 0 else None
    with tempfile.TemporaryDirectory(prefix="tpb-fp-") as tmp:
        out = args.out or Path(tmp)
        aa = judge_pairs(list(itertools.combinations(args.same, 2)), out / "aa", settings, retime)
        slow = judge_pairs([(a, s) for a in args.same for s in args.slow], out / "slow", settings, retime)
    lines = []
    n_aa = len(aa)
    fp = sum(r["verdict"] in ("FAST", "SLOW") for r in aa)
    same = sum(r["verdict"] == "SAME" for r in aa)
    lines.append(f"A/A: {len(list(itertools.combinations(args.same, 2)))} pairs of {len(args.same)} runs of the same "
                 f"code, {n_aa} states: FAST or SLOW {fp} ({100 * fp / max(n_aa, 1):.1f} %), SAME {same}, "
                 f"AMBIGUOUS {sum(r['verdict'] == 'AMBIGUOUS' for r in aa)}")
    if slow:
        plug = [r for r in slow if r["plugin"]]
        other = [r for r in slow if not r["plugin"]]
        lines.append(f"planted slowdown: {len(args.same) * len(args.slow)} pairs, plugin states SLOW "
                     f"{sum(r['verdict'] == 'SLOW' for r in plug)} of {len(plug)} (the rest: "
                     f"{', '.join(sorted({r['verdict'] for r in plug if r['verdict'] != 'SLOW'})) or 'none'}; "
                     f"ratios {min(r['ratio'] for r in plug):.2f} .. {max(r['ratio'] for r in plug):.2f}); "
                     f"unchanged states FAST or SLOW {sum(r['verdict'] in ('FAST', 'SLOW') for r in other)} of "
                     f"{len(other)}")
    moved = [r for r in aa + slow if r["retimed"]]
    if moved:
        lines.append(f"re-timed interleaved (CPU): {sum(r in aa for r in moved)} A/A states, "
                     f"{sum(r in slow for r in moved)} planted-pair states")
        for r in plug:
            if r["verdict"] != "SLOW":
                lines.append(f"  not SLOW: {r['operator']} {r['dtype']} {r['shape']} {r['mode']} ratio "
                             f"{r['ratio']:.3f} {r['verdict']} ({Path(r['baseline']).name} -> {Path(r['candidate']).name})")
    for r in aa:
        if r["verdict"] in ("FAST", "SLOW"):
            lines.append(f"  A/A {r['verdict']}: {r['operator']} {r['dtype']} {r['shape']} {r['mode']} ratio "
                         f"{r['ratio']:.3f} ({r['baseline']} -> {r['candidate']})")
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text("\n".join(f"- {line}" if not line.startswith("  ") else f"  - {line.strip()}"
                                           for line in lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
