"""trt-plugin-bench (or `python -m trt_plugin_bench`): the commands a person types, and the ones every
Snakemake rule calls (hidden from --help; each has its own --help).

Each command parses its arguments, takes a GPU slot when it runs on the tensorrt backend, calls
one function and writes its outputs atomically. Config reaches a rule's command in one serialized form,
--settings-json (settings.Settings.to_json of the keys it reads, dag.RULE_READS: the rule's params),
so Snakemake reruns a rule exactly when those keys change.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import traceback
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace

from .commands.dag import results_dir
from .core.records import TABLES

DEFAULT_RESULTS = results_dir()  # the default config's results folder, results/default

GPU_LOCK_DIR = Path("results") / ".gpu-locks"  # in the working directory, beside the outputs


def _path(p: str | None) -> Path | None:
    return Path(p) if p else None


# Commands whose numbers do not depend on having the GPU alone share it; the rest are timed.
SHARED_GPU_COMMANDS = {"build", "roundtrip", "conformance"}
# Children of a command that already holds a GPU: they inherit its CUDA_VISIBLE_DEVICES.
CHILD_COMMANDS = {"roundtrip-child", "profile-target"}


def _slot(backend: str, command: str):  # noqa: ANN202 - a context manager yielding a gpu_slot.HostWork
    """The GPU slot a command holds (gpu_slot.gpu_slot), or gpu_slot.NO_SLOT where it takes none; the
    timed commands step out of it for host-only work (GpuSlot.host_work)."""
    from .device.gpu_slot import NO_SLOT, gpu_slot

    if backend != "tensorrt" or command in CHILD_COMMANDS:
        return nullcontext(NO_SLOT)
    return gpu_slot(GPU_LOCK_DIR, exclusive=command not in SHARED_GPU_COMMANDS)


# Every command that fails ends its stderr with one line in this form; the Snakefile's onerror
# handler prints it for each failed job (failure_lines), so the reason reaches the console.
ERROR_LINE = re.compile(r"^tpb [\w-]+: error: .*$", re.M)


def one_line(text: str) -> str:
    """A multi-line message on one line ("a:\n  b\n  c" -> "a: b; c")."""
    text = re.sub(r":[ \t]*\n\s*", ": ", str(text).strip())
    return re.sub(r"\s*\n\s*", "; ", text)


def _fix(exc: BaseException) -> str:
    """What to do about an expected error, where its message does not already say."""
    from .backends.base import EngineLoadError
    from .backends.engine_files import EngineCorrupt
    from .core.config import ConfigError

    if isinstance(exc, ConfigError):
        if str(exc).startswith("operator spec "):  # specs.SpecError: the spec file is named first
            return "edit the key named above in that operator spec file"
        return "edit the key named above in config.yaml (or your --configfile / --config)"
    if isinstance(exc, EngineCorrupt):
        return ""  # its message says what the next run does
    if isinstance(exc, EngineLoadError):
        return "rebuild with `snakemake --cores 1 -R compile_plugin build_engine`"
    if type(exc).__name__ == "TrackingStoreUnreachable":
        return ("start the store, or point mlflow.tracking_uri (or MLFLOW_TRACKING_URI) at one that answers, "
                "then run `snakemake` again: every measurement is kept and only the log rule reruns")
    return ""


def _expected(exc: BaseException) -> bool:
    """Errors with a message written for the person: no traceback for these. Modules that import
    pandas, mlflow or TensorRT are looked up only if this command already imported them."""
    from .backends.base import BackendUnavailable, EngineLoadError, ShapeOutOfProfileError
    from .core.config import ConfigError

    kinds: list[type] = [ConfigError, EngineLoadError, BackendUnavailable, ShapeOutOfProfileError]
    for module, name in (("trt_plugin_bench.report.tracking", "TrackingStoreUnreachable"),
                         ("trt_plugin_bench.backends.tensorrt_backend", "BuildError"),
                         ("trt_plugin_bench.commands.conformance", "ConformanceError")):
        loaded = sys.modules.get(module)
        if loaded is not None:
            kinds.append(getattr(loaded, name))
    return isinstance(exc, tuple(kinds))


def error_line(command: str, exc: BaseException) -> str:
    """`tpb <command>: error: <reason> [fix: ...]`, one line."""
    fix = _fix(exc)
    kind = "" if _expected(exc) else f"{type(exc).__name__}: "
    return f"tpb {command}: error: {kind}{one_line(str(exc)) or type(exc).__name__}" + (f" [fix: {fix}]" if fix else "")


def failure_lines(logs_dir: Path, since: float) -> list[str]:
    """For each log under ``logs_dir`` written since ``since`` (a time.time()) whose job failed,
    the log's last `tpb ...: error:` line, prefixed with the log's path. The Snakefile's onerror
    handler prints these: Snakemake itself shows only `message: None` and the log's name."""
    lines = []
    for log in sorted(Path(logs_dir).rglob("*.log")):
        try:
            if log.stat().st_mtime < since - 1:  # a second of slack for coarse file-system clocks
                continue
            found = ERROR_LINE.findall(log.read_text(errors="replace"))
        except OSError:
            continue
        if found:
            lines.append(f"{log}: {found[-1]}")
    return lines


@dataclass(frozen=True)
class Command:
    summary: str  # the one line `--help` shows
    internal: bool = False  # only the Snakefile's rules (or another command) call it: hidden from --help


COMMANDS: dict[str, Command] = {
    "check-config": Command("validate a config file (with --set overrides); --print shows the typed settings"),
    "config-reference": Command("print the configuration reference (docs/configuration.md) from the config schema"),
    "ui": Command("start the MLflow UI on this project's store and print the address of the runs list"),
    "verdict": Command("did my change help? this run against a baseline, per state: FAST, SLOW, SAME, ..."),
    "conformance-matrix": Command("the conformance reports as one matrix (--expect: exit 1 on a surprise)"),
    "pick-kernel": Command("the fastest kernel of a kernel_bench table, as a config file to add"),
    "resolve-backend": Command("the backend a requested one (auto, tensorrt, reference) resolves to here"),
    "compile": Command("build the plugin libraries (rule compile_plugin)", internal=True),
    "tune": Command("time the kernel variants per size band; write the choice table (rule tune)", internal=True),
    "build": Command("build one engine and its golden output (rule build_engine)", internal=True),
    "latency": Command("time one engine over its shapes and modes (rule latency)", internal=True),
    "dynamic": Command("run one engine at every shape, in and out of its profile (rule dynamic_shapes)",
                       internal=True),
    "threads": Command("inference throughput against thread count (rule threads)", internal=True),
    "compare": Command("time two engines interleaved on shared buffers (rule compare)", internal=True),
    "in-network": Command("a plugin between real neighbours against its native twin (rule in_network)", internal=True),
    "roundtrip": Command("serialize, deserialize in a fresh process, compare (rule roundtrip)", internal=True),
    "roundtrip-child": Command("the fresh process of roundtrip", internal=True),
    "conformance": Command("check one operator against TensorRT's plugin contract (rule conformance)", internal=True),
    "calibrate": Command("measure the copy ceiling and the launch floor (rule calibrate)", internal=True),
    "kernel-bench": Command("time the plugin's kernels directly, no TensorRT (rule kernel_bench)", internal=True),
    "profile": Command("Nsight Compute over one engine (rule profile)", internal=True),
    "profile-target": Command("the process profile runs under Nsight Compute", internal=True),
    "aggregate": Command("merge the per-job CSVs into tables/ and summary.md (rule aggregate)", internal=True),
    "log-mlflow": Command("log the tables to MLflow (rule log_mlflow)", internal=True),
    "figures": Command("draw the figures from tables/ (rule figures)", internal=True),
}


def _help_epilog() -> str:
    internal = ", ".join(name for name, c in COMMANDS.items() if c.internal)
    return (f"commands the Snakefile's rules run (each has --help): {internal}. "
            "The pipeline itself: `make pipeline` (.venv/bin/snakemake --cores 1); the tests: `make test`.")


# Options whose values start with '-' (CMake's -DNAME=VALUE): argparse reads such a value given after a space as
# an option ("expected one argument", H100 2026-12-07); join_dash_values makes it --option=value first.
DASH_VALUE_OPTIONS = ("--candidate-cmake-arg",)


def join_dash_values(argv: list[str]) -> list[str]:
    """``--candidate-cmake-arg -DX=1`` as ``--candidate-cmake-arg=-DX=1`` (a value with one leading '-' only:
    ``--candidate-cmake-arg --rebuild`` stays argparse's "expected one argument")."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return out + argv[i:]
        nxt = argv[i + 1] if i + 1 < len(argv) else ""
        if token in DASH_VALUE_OPTIONS and nxt.startswith("-") and not nxt.startswith("--") and len(nxt) > 1:
            out.append(f"{token}={nxt}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def build_parser() -> argparse.ArgumentParser:
    """Every command's arguments: main parses its argv with it (after join_dash_values)."""
    parser = argparse.ArgumentParser(
        prog="trt-plugin-bench", description="TensorRT plugin benchmark: the commands a person types.",
        epilog=_help_epilog())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    def cmd(name: str, *, backend: bool = True, cfg: bool = True) -> argparse.ArgumentParser:
        command = COMMANDS[name]
        # no help= for an internal command: argparse then lists it nowhere (help=SUPPRESS prints "==SUPPRESS==")
        p = sub.add_parser(name, description=command.summary,
                           **({} if command.internal else {"help": command.summary}))
        if backend:
            p.add_argument("--backend", required=True, choices=["tensorrt", "reference"])
        if cfg:
            p.add_argument("--settings-json", default="{}",
                           help="the settings this command reads (Settings.to_json; its rule hands them: dag.RULE_READS)")
        return p

    set_help = "override a config key, e.g. --set timing.max_time_s=0.5 (value read as YAML, typed by the schema)"
    p = cmd("check-config", backend=False, cfg=False)
    p.add_argument("config")
    p.add_argument("--set", action="append", default=[], metavar="KEY.SUB=VALUE", help=set_help)
    p.add_argument("--print", action="store_true", help="print the typed settings (Settings.to_json: every section)")
    cmd("config-reference", backend=False, cfg=False)
    p = cmd("ui", backend=False, cfg=False)
    p.add_argument("--config", default="config.yaml", help="its mlflow section names the store and experiment")
    p.add_argument("--set", action="append", default=[], metavar="KEY.SUB=VALUE", help=set_help)
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--print-url", action="store_true", help="print the runs list's address and exit (no server)")
    p.add_argument("--no-browser", action="store_true", help="do not open the address in the desktop's browser")
    p = cmd("resolve-backend", backend=False, cfg=False)
    p.add_argument("requested")
    p = cmd("compile", cfg=False)
    p.add_argument("--build-dir", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--cmake-log", required=True)
    p.add_argument("--cuda-architectures", default="", help='CMAKE_CUDA_ARCHITECTURES ("": the compiler default)')
    p.add_argument("--spec", action="append", default=[],
                   help="an operator spec file whose plugin library is its own (built too; repeatable)")
    p = cmd("tune")
    p.add_argument("--op", required=True, help="the tuned operator: a name, or an external operator's spec file")
    p.add_argument("--manifest")
    p.add_argument("--out", required=True, help="tune.csv: every measurement behind the choice")
    p.add_argument("--choice", required=True, help="choice.json: the per-dtype choice tables")
    p = cmd("build")
    for a in ("--op", "--dtype", "--profile", "--engine", "--golden"):
        p.add_argument(a, required=True)
    p.add_argument("--manifest")
    p.add_argument("--kernel-tables", help="the tune rule's choice.json (plugin_kernel: auto)")
    p.add_argument("--accuracy", help="the engine's accuracy rows (records.AccuracyRow)")
    for name in ("latency", "dynamic", "threads"):
        p = cmd(name)
        p.add_argument("--engine", required=True)
        p.add_argument("--manifest")
        p.add_argument("--out", required=True)
        if name == "latency":
            p.add_argument("--samples", help="the raw per-sample timings of every state (.npz, samples.py)")
    p = cmd("compare")
    for a in ("--engine-a", "--engine-b", "--out"):
        p.add_argument(a, required=True)
    p.add_argument("--manifest")
    p = cmd("in-network")
    for a in ("--op", "--block", "--dtype", "--size", "--out", "--layers", "--record"):
        p.add_argument(a, required=True)
    p.add_argument("--manifest")
    p = cmd("roundtrip", cfg=False)
    for a in ("--engine", "--golden", "--out"):
        p.add_argument(a, required=True)
    p.add_argument("--manifest")
    p = cmd("roundtrip-child", cfg=False)
    for a in ("--engine", "--golden"):
        p.add_argument(a, required=True)
    p.add_argument("--manifest")
    p = cmd("conformance")  # the plugin contract, checked (conformance.py)
    p.add_argument("--op", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--manifest")
    p.add_argument("--library", help="check this plugin library instead of the manifest's (the bad-plugin fixture)")
    p.add_argument("--flag", help="the bad-plugin fixture's flag the --library was built with")
    p.add_argument("--runner", help="trt_runner for the sanitizer check (default: the manifest's)")
    p.add_argument("--workdir", help="where the conformance engines go (default: beside --out)")
    p = cmd("conformance-matrix", backend=False, cfg=False)
    p.add_argument("reports", nargs="+", help="results/conformance/*.json")
    p.add_argument("--expect", action="store_true",
                   help="exit 1 unless every shipped operator passes or is n/a and each bad flag fails its check alone")
    p = cmd("calibrate")
    p.add_argument("--out", required=True)
    p.add_argument("--device-json", required=True)
    p = cmd("kernel-bench", backend=False)
    p.add_argument("--manifest", required=True)
    p.add_argument("--out", required=True)
    p = cmd("profile")
    for a in ("--op", "--dtype", "--profile", "--engine", "--out"):
        p.add_argument(a, required=True)
    p.add_argument("--manifest")
    p = cmd("profile-target", cfg=False)
    p.add_argument("--engine", required=True)
    p.add_argument("--shape", required=True)
    p.add_argument("--manifest")
    p = cmd("aggregate", backend=False, cfg=False)
    p.add_argument("--device-json", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--skipped", default="[]")
    for name in TABLES:
        p.add_argument(f"--{name}", nargs="*", default=[])
    p.add_argument("--conformance", nargs="*", default=[], help="the conformance rule's reports (JSON)")
    p = cmd("log-mlflow", backend=False)
    p.add_argument("--tables-dir", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--config-file", nargs="*", default=[], help="the config files this run read (logged as artifacts)")
    p.add_argument("--artifact", nargs="*", default=[], help="more files for the parent run (summary.md, figures)")
    p = cmd("pick-kernel", backend=False, cfg=False)
    p.add_argument("--kernel-csv", required=True)
    p.add_argument("--config-out", help="write {plugin_kernel: {dtype: kernel}} here, a config file to add")
    p = cmd("figures", backend=False, cfg=False)
    p.add_argument("--tables-dir", required=True)
    p.add_argument("--out-dir", required=True)
    p = cmd("verdict", backend=False)  # did my change help? (verdict.py); --settings-json: {mlflow: ...} as log-mlflow's
    base = p.add_mutually_exclusive_group()  # none given: the latest earlier run of this setup, another plugin
    base.add_argument("--baseline", help="the results/ folder of the run before the change")
    base.add_argument("--baseline-run", help="an MLflow parent run id (a child's id means its parent)")
    base.add_argument("--baseline-rev", help="a git revision or tag: the latest run logged at that commit")
    p.add_argument("--candidate", default=DEFAULT_RESULTS, help="the results folder of the run after it, "
                   f"results/<experiment> (default: {DEFAULT_RESULTS})")
    p.add_argument("--candidate-run", help="an MLflow parent run id instead of --candidate's folder")
    p.add_argument("--out-dir", help="where verdict.md, .csv and .png go (default: <candidate>/verdict)")
    p.add_argument("--min-effect", type=float, default=0.01, help="the smallest change that counts (default 0.01: 1 %%)")
    p.add_argument("--max-band", type=float, default=0.10, help="a wider noise band makes SAME AMBIGUOUS (default 0.10)")
    p.add_argument("--confidence", type=float, default=0.95)
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--fail-on", default="", help="comma list of verdicts that exit 1, e.g. SLOW,FAIL")
    p.add_argument("--force", action="store_true", help="compare runs from different GPUs, drivers or TensorRT versions")
    p.add_argument("--missing-baseline-ok", action="store_true",
                   help="no default baseline in the store: write verdict files saying so and exit 0 (the rule's way)")
    p.add_argument("--mlflow-run", help="tag this MLflow run with the verdict (default: the candidate's run)")
    p.add_argument("--rebuild", metavar="REV", help="interleaved mode (TensorRT backend): rebuild the plugin of git "
                   "revision REV as the baseline and this checkout's plugin/ as the candidate, by one recipe, and time "
                   "both in one process, in the candidate's states (rebuild.py)")
    p.add_argument("--no-rebuild", action="store_true", help="never the interleaved mode: compare separate runs")
    p.add_argument("--prepare-only", action="store_true", help="with --rebuild: only extract REV's plugin/ under "
                   "results/verdict/rebuild (for a tree without git, e.g. a GPU machine's copy)")
    p.add_argument("--rebuild-modes", default="warm,cold", help="modes timed interleaved (default warm,cold)")
    p.add_argument("--rebuild-time-s", type=float, default=0.5, help="time per state and round (default 0.5 s)")
    p.add_argument("--rebuild-filter", default="", help="regex on op/dtype/profile/shape/mode: the states to time")
    p.add_argument("--candidate-cmake-arg", action="append", default=[], metavar="ARG",
                   help="with --rebuild: build the candidate (this checkout's plugin/) with ARG too (repeatable; e.g. "
                   "--candidate-cmake-arg=-DTPB_PLANTED_SLOWDOWN_PERMILLE=20, a planted slowdown: the '=' form, as "
                   "ARG starts with '-') and time that as the candidate")
    p.add_argument("--candidate-kernel", default="", metavar="NAME",
                   help="with --rebuild: build the candidate's engines with this kernel variant (e.g. naive)")
    p.add_argument("--remeasure-rounds", type=int, help="AMBIGUOUS states re-measured at most this many rounds "
                   "(default: config verdict.remeasure_rounds)")
    p.add_argument("--cpu-retime-max-s", type=float, metavar="S", help="CPU reference backend: seconds at most for "
                   "re-timing undecided plugin states interleaved in this process (default: config "
                   "verdict.cpu_retime_max_s; 0: never)")
    p.add_argument("--config", default="config.yaml", help="its mlflow section names the store, if no --settings-json")
    p.add_argument("--set", action="append", default=[], metavar="KEY.SUB=VALUE", help=set_help)
    p.add_argument("--tracking-uri", help="the store (default: as the pipeline resolves it: MLFLOW_TRACKING_URI, "
                                          "else the config's mlflow.tracking_uri)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(join_dash_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        return _run(args)
    except Exception as exc:  # the one line the console shows for a failed job (failure_lines)
        if not _expected(exc):
            traceback.print_exc()
        print(error_line(args.command, exc), file=sys.stderr, flush=True)
        return 2 if _expected(exc) else 1


def _run(args: argparse.Namespace) -> int:
    from .core.settings import Settings

    settings = Settings.from_json(getattr(args, "settings_json", "{}"))
    backend = getattr(args, "backend", "reference")

    if args.command == "check-config":
        from .core.config import load_config

        validated = load_config(args.config, args.set)  # a ConfigError becomes main's one error line
        print(f"{args.config}: valid" + (f" (with {', '.join(args.set)})" if args.set else ""))
        if args.print:
            print(Settings.from_config(validated).to_json())
        return 0
    if args.command == "config-reference":
        from .core.config_reference import config_reference

        sys.stdout.write(config_reference())
        return 0
    if args.command == "ui":
        return _ui(args)
    if args.command == "resolve-backend":
        from .backends import resolve_backend_name

        print(resolve_backend_name(args.requested))
        return 0
    if args.command == "compile":
        from .commands.compile import compile_plugin
        from .core.operators import from_ref

        manifest = compile_plugin(backend, Path(args.build_dir), Path(args.manifest), Path(args.cmake_log),
                                  args.cuda_architectures, [from_ref(p) for p in args.spec])
        print(json.dumps(manifest, indent=2))
        return 0
    if args.command == "verdict":
        return _verdict(args)
    if args.command == "pick-kernel":
        import pandas as pd
        import yaml

        from .report.analysis import pick_kernel, pick_kernels_per_dtype

        table = pd.read_csv(args.kernel_csv)
        kernel, slowdown = pick_kernel(table)
        print(slowdown.round(3).to_string(), file=sys.stderr)
        per_dtype = pick_kernels_per_dtype(table)
        if args.config_out:
            Path(args.config_out).write_text(yaml.safe_dump({"plugin_kernel": per_dtype}))
        print(json.dumps({"every_dtype": kernel, "per_dtype": per_dtype}))
        return 0
    if args.command == "conformance-matrix":
        from .commands.conformance import expectation_problems, load_reports, matrix_text

        reports = load_reports([Path(p) for p in args.reports])
        print(matrix_text(reports))
        problems = [f"{p}: no report (the target's conformance command failed: see its log)"
                    for p in args.reports if not Path(p).is_file()] + expectation_problems(reports)
        for problem in problems:
            print(f"UNEXPECTED: {problem}")
        print("conformance matrix: " + ("as expected" if not problems else f"{len(problems)} unexpected"))
        return 1 if (args.expect and problems) else 0
    if args.command in ("aggregate", "figures", "log-mlflow"):
        return _host_only(args, settings)
    if args.command == "kernel-bench":
        backend = "tensorrt"  # a GPU job: take a slot like the TensorRT jobs
    with _slot(backend, args.command) as slot:
        return _gpu_or_reference(args, settings, backend, slot)


def _ui(args: argparse.Namespace) -> int:
    """`mlflow ui` on the store and experiment the log rule uses (config.resolve_tracking), after printing
    the address of the experiment's runs list, which it opens in the desktop's browser once the server
    answers (where there is a desktop): MLflow 3.17 opens a fresh browser on its GenAI pages unless the
    address says otherwise (tracking.runs_url)."""
    import os
    import shutil

    from .core.config import load_config, resolve_tracking
    from .core.settings import Settings
    from .report.tracking import runs_url

    mlflow = Settings.from_config(load_config(args.config, args.set)).mlflow
    target = resolve_tracking({"tracking_uri": mlflow.tracking_uri, "experiment": mlflow.experiment})
    base = f"http://127.0.0.1:{args.port}"
    experiment_id = target.experiment_id
    if target.experiment_name is not None:
        experiment_id = None
        if not target.tracking_uri.startswith("sqlite:///") or Path(target.tracking_uri[10:]).is_file():
            from mlflow.tracking import MlflowClient

            found = MlflowClient(tracking_uri=target.tracking_uri).get_experiment_by_name(target.experiment_name)
            experiment_id = found.experiment_id if found else None
    if experiment_id is None:
        print(f"tpb ui: no experiment {target.experiment_name} in {target.tracking_uri} yet (run `make pipeline` "
              f"first); the UI's home page is {base}")
    else:
        print(f"tpb ui: the runs of experiment {target.experiment_name or experiment_id} ({target.tracking_uri}):\n"
              f"  {runs_url(experiment_id, base)}")
    if args.print_url:
        return 0
    sys.stdout.flush()
    mlflow_bin = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    argv = [mlflow_bin, "ui", "--host", "127.0.0.1", "--port", str(args.port), "--workers", "1",
            "--backend-store-uri", target.tracking_uri]  # one user: one worker
    url = runs_url(experiment_id, base) if experiment_id is not None else base
    server = subprocess.Popen(argv)
    if not args.no_browser and (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin"):
        threading.Thread(target=_open_when_up, args=(f"{base}/health", url, server), daemon=True).start()
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.terminate()
        server.wait()
        print("tpb ui: interrupted; the MLflow server stopped")
        return 130


def _open_when_up(health: str, url: str, server: subprocess.Popen) -> None:
    """Open ``url`` in the desktop's browser once the server answers (MLflow takes seconds to start)."""
    import time
    import urllib.request
    import webbrowser

    for _ in range(300):
        if server.poll() is not None:
            return
        try:
            with urllib.request.urlopen(health, timeout=2):
                webbrowser.open(url)
                return
        except OSError:
            time.sleep(1)


def _verdict(args: argparse.Namespace) -> int:
    """Exit 1 when a state's verdict is in --fail-on, 2 for input it cannot judge."""
    from .measure.samples import SamplesFileError
    from .report.verdict import Settings, VerdictInputError, verdict_from_store

    candidate = Path(args.candidate)
    settings = Settings(min_effect=args.min_effect, max_band=args.max_band, confidence=args.confidence,
                        resamples=args.resamples, force=args.force)
    try:
        rev = None if args.no_rebuild else args.rebuild or _auto_rebuild_rev(args, candidate)
        if rev:
            from .report.rebuild import CandidateOptions, verdict_rebuild
            from .report.verdict import candidate_from_folder

            uri = args.tracking_uri or _verdict_store(args)
            tag = None if args.prepare_only else (args.mlflow_run or candidate_from_folder(candidate, uri))
            status, _ = verdict_rebuild(candidate, Path(args.out_dir or candidate / "verdict"), rev, _verdict_config(args),
                                        settings, args.fail_on, tag, uri,
                                        modes=tuple(m for m in args.rebuild_modes.split(",") if m),
                                        time_s=args.rebuild_time_s, rounds=args.remeasure_rounds,
                                        state_filter=args.rebuild_filter, prepare_only=args.prepare_only,
                                        options=CandidateOptions(tuple(args.candidate_cmake_arg), args.candidate_kernel))
            return status
        refine = None
        if Path(candidate / "tables" / "device.json").is_file() and not args.candidate_run:
            backend = json.loads((candidate / "tables" / "device.json").read_text()).get("backend")
            if backend == "reference":
                from .report.cpu_retime import CpuRetime, RetimeSettings

                refine = CpuRetime(RetimeSettings.from_settings(_verdict_sections(args), args.cpu_retime_max_s))
                print("tpb verdict: CPU reference backend: separate runs compared (it has no plugin library to "
                      "rebuild); plugin states they leave undecided are re-timed interleaved in this process when the "
                      "baseline differs only in reference.extra_work (at most "
                      f"{refine.settings.max_time_s:g} s)", flush=True)
        status, _ = verdict_from_store(
            None if args.candidate_run else candidate, Path(args.out_dir or candidate / "verdict"),
            args.tracking_uri or _verdict_store(args), candidate_run=args.candidate_run,
            baseline_dir=_path(args.baseline), baseline_run=args.baseline_run, baseline_rev=args.baseline_rev,
            settings=settings, fail_on=args.fail_on, tag_run=args.mlflow_run,
            missing_baseline_ok=args.missing_baseline_ok, refine=refine)
    except (VerdictInputError, SamplesFileError) as exc:  # a message written for the person: no traceback
        print(f"tpb verdict: error: {one_line(str(exc))}", file=sys.stderr, flush=True)
        return 2
    return status


def _verdict_config(args: argparse.Namespace):  # noqa: ANN202 - settings.Settings | None
    """The project settings the interleaved mode builds and times with (--config's file with the
    --set overrides, validated and typed), or None without a config file."""
    from .core.config import load_config
    from .core.settings import Settings

    return Settings.from_config(load_config(args.config, args.set)) if Path(args.config).is_file() else None


def _verdict_sections(args: argparse.Namespace) -> SimpleNamespace:
    """The verdict and timing sections the CPU re-time reads: the rule's --settings-json where it hands
    them, else --config's file (with --set), else the schema's defaults."""
    from .core.settings import Settings, TimingSettings, VerdictSettings, section_from

    handed = Settings.from_json(args.settings_json)
    typed = _verdict_config(args)
    out = {}
    for name, cls in (("verdict", VerdictSettings), ("timing", TimingSettings)):
        out[name] = getattr(handed, name) if handed.handed(name) else getattr(typed, name) if typed else section_from(cls)
    return SimpleNamespace(**out)


def _auto_rebuild_rev(args: argparse.Namespace, candidate: Path) -> str | None:
    """The interleaved mode by default: a TensorRT candidate whose MLflow baseline (the default rule's,
    or --baseline-run's) was logged at a commit this checkout holds, with the namespace option."""
    if args.baseline or args.baseline_rev or args.candidate_run or args.prepare_only:
        return None
    device = candidate / "tables" / "device.json"
    if not device.is_file() or json.loads(device.read_text()).get("backend") != "tensorrt":
        return None
    from .core.schema import PROJECT_ROOT
    from .report.rebuild import baseline_source_in_git
    from .report.verdict import candidate_from_folder, default_baseline, open_store, parent_run

    uri = args.tracking_uri or _verdict_store(args)
    try:
        client = open_store(uri)
        if args.baseline_run:
            base = parent_run(client, args.baseline_run, uri)
        else:
            cand_id = candidate_from_folder(candidate, uri)
            if cand_id is None:
                return None
            base = default_baseline(client, parent_run(client, cand_id, uri), uri)
    except Exception:  # no store, no baseline: the separate-run path says why
        return None
    sha = baseline_source_in_git(base.tags.get("tpb.git_commit", ""), PROJECT_ROOT)
    if sha:
        print(f"tpb verdict: interleaved mode: the baseline {base.label} was logged at {sha[:12]}, which this checkout "
              "holds (--no-rebuild compares the separate runs)", flush=True)
    return sha


# without --settings-json and without a config file: MLflow's own default store (it is no config default)
MLFLOW_DEFAULT_STORE = "sqlite:///mlflow.db"


def _verdict_store(args: argparse.Namespace) -> str:
    """The store as the log rule resolves it (config.resolve_tracking): the rule's --settings-json
    mlflow section (its command-line keys too), else the --config file's (with --set), else MLflow's
    default sqlite:///mlflow.db; an MLFLOW_TRACKING_URI in the environment wins over a config file's."""
    from .core.config import resolve_tracking
    from .core.settings import Settings

    handed = Settings.from_json(args.settings_json)
    if handed.handed("mlflow"):
        mlflow = handed.mlflow
    else:
        typed = _verdict_config(args)
        if typed is None:
            return resolve_tracking({"tracking_uri": MLFLOW_DEFAULT_STORE, "experiment": ""}).tracking_uri
        mlflow = typed.mlflow
    section = {"tracking_uri": mlflow.tracking_uri, "experiment": mlflow.experiment}
    return resolve_tracking(section, cli_keys=mlflow.cli_keys).tracking_uri


def _host_only(args: argparse.Namespace, settings) -> int:  # noqa: ANN001 - settings.Settings
    if args.command == "aggregate":
        from .report.aggregate import aggregate

        inputs = {name: [Path(p) for p in getattr(args, name)] for name in TABLES}
        aggregate(inputs, Path(args.device_json), Path(args.out_dir), json.loads(args.skipped),
                  [Path(p) for p in args.conformance])
        return 0
    if args.command == "figures":
        import pandas as pd

        from .report.figures import draw_all
        from .report.tracking import load_tables

        device = json.loads((Path(args.tables_dir) / "device.json").read_text())
        tables = load_tables(Path(args.tables_dir))
        for name in TABLES:
            tables.setdefault(name, pd.DataFrame())
        for out in draw_all(tables, device, Path(args.out_dir)):
            print(f"wrote {out}")
        return 0
    from .report.tracking import log_results

    # an unreachable store raises TrackingStoreUnreachable: main's one error line names it
    summary = log_results(settings, Path(args.tables_dir), Path(args.tables_dir) / "device.json", Path(args.out),
                          config_files=args.config_file, artifacts=args.artifact)
    print(json.dumps(summary, indent=2))
    return 0


def _gpu_or_reference(args: argparse.Namespace, settings, backend: str, slot) -> int:  # noqa: ANN001 - Settings, HostWork
    from .commands import sweeps
    from .core.records import (
        CalibrationRow,
        CompareRow,
        DynamicRow,
        KernelRow,
        LatencyRow,
        ProfileRow,
        RoundtripRow,
        ThreadRow,
        write_rows,
    )

    manifest = _path(getattr(args, "manifest", None))
    if args.command == "tune":
        from .commands.tune import tune
        from .core.records import TuneRow

        write_rows(args.out, TuneRow, tune(settings, backend, args.op, manifest, Path(args.choice)))
        return 0
    if args.command == "build":
        tables = None
        if args.kernel_tables:
            from .commands.tune import load_kernel_tables

            tables = load_kernel_tables(Path(args.kernel_tables))
        sweeps.build_engine(settings, backend, args.op, args.dtype, args.profile, Path(args.engine),
                            Path(args.golden), manifest, tables, _path(args.accuracy))
    elif args.command == "latency":
        write_rows(args.out, LatencyRow, sweeps.latency_sweep(settings, backend, Path(args.engine), manifest,
                                                             _path(args.samples), slot=slot))
    elif args.command == "compare":
        write_rows(args.out, CompareRow, sweeps.compare_sweep(settings, backend, Path(args.engine_a), Path(args.engine_b),
                                                             manifest, slot=slot))
    elif args.command == "in-network":
        from .commands.in_network import InNetworkLayerRow, InNetworkRow, plugin_kernel_of, prepare_job, run_standin

        prepared = prepare_job(settings, args.op, args.block, args.dtype, args.size)
        if backend == "tensorrt":
            from .commands.trt_blocks import run_trt_job

            # the experiment's pairs share their builder timings (trt_blocks.SharedTimingCache): beside the outputs
            rows, layers, record = run_trt_job(settings, prepared, plugin_kernel_of(prepared.op_spec, settings, args.dtype),
                                               sweeps.plugin_library_from_manifest(manifest, prepared.op_spec), manifest,
                                               slot=slot, timing_cache_dir=Path(args.out).parent)
        else:
            rows, layers, record = run_standin(settings, prepared)
        write_rows(args.layers, InNetworkLayerRow, layers)
        Path(args.record).write_text(json.dumps(record, indent=2, default=str))
        write_rows(args.out, InNetworkRow, rows)  # last: the rule's first output says the job finished
    elif args.command == "dynamic":
        write_rows(args.out, DynamicRow, sweeps.dynamic_sweep(settings, backend, Path(args.engine), manifest, slot=slot))
    elif args.command == "threads":
        write_rows(args.out, ThreadRow, sweeps.thread_sweep(settings, backend, Path(args.engine), manifest))
    elif args.command == "roundtrip":
        write_rows(args.out, RoundtripRow, sweeps.roundtrip(backend, Path(args.engine), Path(args.golden), manifest))
    elif args.command == "roundtrip-child":
        result = sweeps.roundtrip_child(backend, Path(args.engine), Path(args.golden), manifest)
        print(json.dumps(result))
    elif args.command == "conformance":
        from .commands.conformance import conformance_command

        conformance_command(settings, backend, args.op, manifest, Path(args.out), _path(args.library), args.flag,
                            _path(args.workdir), _path(args.runner))
    elif args.command == "calibrate":
        from .backends import get_backend
        from .core.stats import StoppingRule

        b = get_backend(backend, settings.timing.l2_flush)  # the cold copies flush as the cold states do
        rows = b.calibrate(list(settings.calibration.copy_mib), StoppingRule.from_config(settings.timing))
        write_rows(args.out, CalibrationRow, rows)
        Path(args.device_json).write_text(json.dumps(asdict(b.device_info()), indent=2))
    elif args.command == "kernel-bench":
        from .measure.cuda_direct import kernel_bench

        write_rows(args.out, KernelRow, kernel_bench(settings, manifest))
    elif args.command == "profile":
        from .commands.profiling import run_profile

        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = run_profile(settings, backend, args.op, args.dtype, args.profile, Path(args.engine), manifest, out.parent)
        write_rows(out, ProfileRow, rows)
    elif args.command == "profile-target":
        from .commands.profiling import profile_target

        profile_target(backend, Path(args.engine), manifest, tuple(int(v) for v in args.shape.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
