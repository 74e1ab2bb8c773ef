"""Logging the aggregated tables to MLflow: one parent run per set of measurements and config, one
nested child run per (operator, dtype, profile) sweep.

MLflow's conventions: MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME (or MLFLOW_EXPERIMENT_ID) win
over the config file, a key given with snakemake --config wins over both (config.resolve_tracking);
the experiment is marked as a machine-learning (training) experiment and carries the runs list's
columns as a shared view; runs_url() is the address that opens that list in MLflow 3.17's UI.

- Parent run names say what differs from the previous parent run (describe_parent): the changed
  config keys or an edited plugin, then the git commit, the plugin hash and the backend; the run's
  description (mlflow.note.content) lists every change.

- Parent run: the resolved config flattened into params (dotted keys) with its hash, the config
  files, summary.md, the figures and the tables (``tables/*.csv``, ``tables/device.json``: what the
  verdict command needs to use the run as a baseline) as artifacts. Tags ``tpb.setup_hash`` (the
  config hash without what counts as the plugin, PLUGIN_CONFIG_KEYS) and ``tpb.plugin_hash``
  (provenance.plugin_hash) let the verdict find an earlier run of the same setup, other plugin.
- Child runs: a state's number is summary.md's, the median over repeats; size sweeps step by log2
  of the element count (param ``steps.<table>`` lists step = elements). The sweep's raw samples
  (``<samples_dir>/<sweep>.npz``, samples.py) are its artifact in folder ``samples``.
- A child whose content is unchanged since an earlier parent is not logged again: the new parent
  lists it in the tag ``tpb.reused_child_runs`` and the child names its reusing parents in
  ``tpb.reused_by``.
- Idempotent: the same measurements and config map to the same runs, so re-running the log rule
  logs only what is missing (a child left half-logged by an interruption is replaced).
- An unreachable store fails fast with a clear message naming it; the tables stay on disk.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sqlite3
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.config import TrackingTarget, resolve_tracking
from ..core.operators import sweep_key
from ..core.provenance import plugin_hash
from ..core.records import TABLES
from ..core.settings import Settings
from ..measure.native_runner import native_way
from ..measure.samples import samples_digest
from .analysis import by_state
from .mlflow_store import SqliteStoreError, ensure_sqlite_store, log_record

PARENT_ROLE = "pipeline"
CHILD_ROLE = "sweep"
TABLE_NAMES = tuple(TABLES)
# tables the aggregate rule writes from other records than row CSVs (conformance: its JSON reports)
EXTRA_TABLE_NAMES = ("conformance",)

# MLflow 3 shows an experiment by its kind (mlflow.experimentKind; custom_model_development is the
# machine-learning / training kind). MLflow 3.17's UI no longer reads that tag: it takes the kind from
# the browser's workflow switch (localStorage "mlflow.workflowType", GenAI on a fresh browser) unless
# the URL says ?workflowType=machine_learning, which runs_url() does. The tag is kept for other versions.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
TRAINING_KIND = "custom_model_development"
# no kind, or one the UI only inferred: replaced; a kind a person chose is left alone
REPLACEABLE_KINDS = {"", "no_inferred_type", "genai_development_inferred", "custom_model_development_inferred"}
# MLflow's limits (mlflow.utils.validation): param and tag value lengths, entities per log_batch
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
PARAMS_PER_BATCH = 100
METRICS_PER_BATCH = 900
RESOLVED_CONFIG_ARTIFACT = "config/resolved_config.json"
# the device facts a sweep's numbers belong to (not the commit or date: an unchanged sweep is
# one Snakemake did not rerun, whatever the commit)
DEVICE_IDENTITY = ("backend", "backend_label", "timing_clock", "device_name", "driver_version", "cuda_version",
                   "tensorrt_version", "hostname")
# the latency columns logged per state, each the median over the state's repeats (summary.md's rule)
LATENCY_METRICS = (("latency_median_us", "median_us"), ("latency_p99_us", "p99_us"), ("latency_rse", "rse"),
                   ("bandwidth_gbs", "bandwidth_gbs"), ("pct_of_copy_ceiling", "pct_of_copy_ceiling"),
                   ("host_enqueue_us", "host_enqueue_median_us"))
REPEATS_COMBINED = "median over repeats of each repeat's median (summary.md's number)"


# The runs list's columns, as a shared view of the runs page (MLflow 3.17 has no per-experiment default
# columns; a shared view is an experiment tag mlflow.sharedViewState.<key> holding the page's state as
# JSON, applied by the URL's ?viewStateShareKey=<key>). Column keys are the UI's: <kind>.`<name>`.
SHARED_VIEW_TAG_PREFIX = "mlflow.sharedViewState."
RUNS_VIEW_KEY = "tpb-runs"
RUNS_VIEW_COLUMNS = ("metrics.`verdict.slow`", "metrics.`verdict.fast`", "metrics.`verdict.same`",
                     "metrics.`verdict.ambiguous`", "metrics.`copy_ceiling_gbs`", "tags.`tpb.changed`",
                     "tags.`tpb.plugin_hash`", "tags.`tpb.git_commit`")
RUNS_VIEW_WIDTHS = {"attributes.`Run Name`": 440}  # the name says what differs: let it show
# what a parent run's name says in this order (the UI cuts long names): the change, commit, plugin, backend
NAME_CHANGES_SHOWN = 2
EXPERIMENT_DESCRIPTION = (
    "trt-plugin-bench: one parent run per pipeline run with new measurements or config. Its name says what "
    "changed since the previous parent run (config keys, plugin edited), then the git commit, the plugin hash and "
    "the backend; its description lists every change. Each (operator, dtype, profile) sweep is a nested child run. "
    "The columns are the shared view tpb-runs (docs/mlflow.md).")


class TrackingStoreUnreachable(RuntimeError):
    pass


class TrackingTargetInvalid(TrackingStoreUnreachable):
    """The store answers but the experiment asked for cannot be used; nothing was logged."""


HINT = ("the measurements stay under results/; re-run the log rule "
        "(snakemake --cores 1 log_mlflow) once the store is back: each sweep is logged exactly once")


def check_store(uri: str, timeout_s: float = 5.0, source: str = "") -> None:
    """Fail before logging anything when the store cannot be reached, naming the store (and, given
    ``source``, where the URI came from)."""
    name = f"{uri} (from {source})" if source else uri
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if not path.parent.is_dir():
            raise TrackingStoreUnreachable(f"MLflow store {name}: directory {path.parent} does not exist; {HINT}")
        try:  # created atomically where absent; else an SQLite file of a complete MLflow schema (mlflow_store)
            ensure_sqlite_store(path, timeout_s)
        except SqliteStoreError as exc:
            raise TrackingStoreUnreachable(f"MLflow store {name}: {exc}") from exc
        except (sqlite3.Error, OSError) as exc:
            raise TrackingStoreUnreachable(f"MLflow store {name} cannot be opened ({exc}); {HINT}") from exc
    elif uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as resp:
                if resp.status >= 400:
                    raise TrackingStoreUnreachable(f"MLflow server {name} answered HTTP {resp.status}; {HINT}")
        except (urllib.error.URLError, OSError) as exc:
            raise TrackingStoreUnreachable(f"MLflow server {name} is unreachable ({exc}); {HINT}") from exc
    elif uri.startswith("file:") or "://" not in uri:
        path = Path(uri[len("file:"):] if uri.startswith("file:") else uri)
        if path.exists() and not os.access(path, os.W_OK):
            raise TrackingStoreUnreachable(f"MLflow store {name} is not writable; {HINT}")


def load_tables(tables_dir: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for name in TABLE_NAMES:
        path = Path(tables_dir) / f"{name}.csv"
        if path.exists() and path.stat().st_size > 0:
            tables[name] = pd.read_csv(path)
    return tables


def results_digest(tables_dir: Path, device: dict) -> str:
    """Identifies one set of measurements: the same tables always map to the same MLflow runs."""
    h = hashlib.sha256()
    for name in (*TABLE_NAMES, *EXTRA_TABLE_NAMES):
        path = Path(tables_dir) / f"{name}.csv"
        if path.exists():
            h.update(name.encode())
            h.update(path.read_bytes())
    h.update(json.dumps(device, sort_keys=True).encode())
    return h.hexdigest()[:32]


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:32]


def config_hash(config: Mapping[str, Any]) -> str:
    """The resolved config without its mlflow section: where runs are logged is not part of what
    was measured."""
    return _digest({k: v for k, v in config.items() if k != "mlflow"})


# config keys that change what the plugin engines run, not the setup: the CPU backend's planted slowdown
PLUGIN_CONFIG_KEYS = (("reference", "extra_work"),)


def setup_hash(config: Mapping[str, Any]) -> str:
    """config_hash without PLUGIN_CONFIG_KEYS and without ``experiment`` (the results folder's name,
    nothing measured): two runs with equal setup hashes measured the same operators, shapes and timing,
    perhaps with another plugin (two sites of a matrix, each in its own results folder)."""
    stripped = json.loads(json.dumps(dict(config), default=str))
    for section, key in PLUGIN_CONFIG_KEYS:  # the whole config (Settings.to_data): every section is there
        del stripped[section][key]
    stripped.pop("experiment", None)
    return config_hash(stripped)


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def log2_steps(sizes: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """Metric step of each (elements, shape): round(log2(elements)), so a size sweep spreads evenly
    along MLflow's step axis. Two sizes that round to one step (a shape that is not a power of two
    next to one that is, or two shapes of equal size) would share it: taken in increasing size,
    each moves up to the next free step, so steps stay unique and in size order within a table;
    the table's ``steps.<table>`` param says which size each step is."""
    steps: dict[tuple[int, str], int] = {}
    last = -2
    for elements, shape in sorted(set(sizes)):
        exact = round(math.log2(elements)) if elements > 0 else -1
        last = max(exact, last + 1)
        steps[(elements, shape)] = last
    return steps


def steps_param(steps: Mapping[tuple[int, str], int]) -> str:
    """step=elements[ shape], in step order: what each step of a table's metrics is."""
    return ",".join(f"{s}={e}" + (f" {shape}" if shape and shape != str(e) else "")
                    for (e, shape), s in sorted(steps.items(), key=lambda kv: kv[1]))


def state_numbers(latency: pd.DataFrame) -> pd.DataFrame:
    """One row per state: median_us, bandwidth_gbs and pct_of_copy_ceiling exactly as summary.md
    computes them (analysis.by_state, the median over repeats), and the other logged columns by
    the same rule over the same keys."""
    states = by_state(latency)
    keys = [c for c in states.columns if c not in ("median_us", "bandwidth_gbs", "pct_of_copy_ceiling")]
    others = [col for _, col in LATENCY_METRICS if col not in states.columns]
    extra = latency.groupby(keys, as_index=False).agg(**{col: (col, "median") for col in others})
    return states.merge(extra, on=keys, how="left")


def child_payload(key: str, tables: dict[str, pd.DataFrame]) -> tuple[dict, list[tuple[str, float, int]]]:
    """Params and (metric, value, step) triples of one sweep. Steps: log2 of the element count for
    size sweeps (log2_steps), the thread count for the thread sweep."""
    op, dtype, profile = key.split("__")
    params: dict[str, str] = {"operator": op, "dtype": dtype, "profile": profile}
    metrics: list[tuple[str, float, int]] = []

    def rows(name: str) -> pd.DataFrame:
        t = tables.get(name)
        if t is None:
            return pd.DataFrame()
        return t[(t["operator"] == op) & (t["dtype"] == dtype) & (t["profile"] == profile)]

    lat = rows("latency")
    if len(lat):
        params["kernel"] = str(lat["kernel"].iloc[0]) if "kernel" in lat else ""
        params["implementation"] = str(lat["implementation"].iloc[0])
        params["shapes"] = ",".join(dict.fromkeys(lat["shape"].astype(str)))
        params["repeats_combined"] = REPEATS_COMBINED
        states = state_numbers(lat)
        steps = log2_steps(zip(states["elements"].astype(int), states["shape"].astype(str)))
        params["steps.latency"] = steps_param(steps)
        for _, r in states.iterrows():
            step = steps[(int(r["elements"]), str(r["shape"]))]
            for metric, col in LATENCY_METRICS:
                if _finite(r[col]):
                    metrics.append((f"{metric}.{r['mode']}", float(r[col]), step))
        metrics.append(("throttled_samples", float(lat["throttled"].astype(bool).sum()), 0))
    dyn = rows("dynamic")
    ok = dyn[(dyn["status"] == "ok") & dyn["median_us"].map(_finite)] if len(dyn) else dyn
    if len(ok):
        steps = log2_steps(zip(ok["elements"].astype(int), ok["shape"].astype(str)))
        params["steps.dynamic"] = steps_param(steps)
        for _, r in ok.iterrows():
            metrics.append(("dynamic_median_us", float(r["median_us"]), steps[(int(r["elements"]), str(r["shape"]))]))
    if len(dyn):
        metrics.append(("dynamic_shapes_ok", float((dyn["status"] == "ok").sum()), 0))
        metrics.append(("dynamic_out_of_profile_rejected", float((dyn["status"] == "rejected").sum()), 0))
    rt = rows("roundtrip")
    for _, r in rt.iterrows():
        metrics.append(("roundtrip_bit_identical", float(bool(r["bit_identical"])), 0))
        metrics.append(("roundtrip_deserialize_ms", float(r["deserialize_ms"]), 0))
    th = rows("threads")
    for _, r in th.iterrows():
        driver = str(r["driver"]) if "driver" in r and isinstance(r["driver"], str) else "python"
        if driver == "python":  # the Python serving loop, host copies included
            metrics.append(("threads_throughput_per_s", float(r["throughput_per_s"]), int(r["threads"])))
            metrics.append(("threads_failures", float(r["failures"]), int(r["threads"])))
            continue
        # the native runner, one series per way of enqueueing (its rows share the thread-count step)
        way = native_way(r.get("graph", ""), r.get("graph_batch", 1))
        if driver == "bare":  # the bare kernel of the engine's bytes beside it (concurrency.py); none if not measured
            if _finite(r.get("throughput_per_s")):
                metrics.append((f"threads.bare.{way}.throughput_per_s", float(r["throughput_per_s"]), int(r["threads"])))
            continue
        metrics.append((f"threads.native.{way}.throughput_per_s", float(r["throughput_per_s"]), int(r["threads"])))
        if _finite(r.get("gpu_busy_fraction")):
            metrics.append((f"threads.native.{way}.gpu_busy_fraction", float(r["gpu_busy_fraction"]), int(r["threads"])))
        metrics.append((f"threads.native.{way}.failures", float(r["failures"]), int(r["threads"])))
    prof = rows("profile")
    for _, r in prof.iterrows():
        if _finite(r["value"]):
            metrics.append((f"ncu.{r['metric']}", float(r["value"]), 0))
    return params, metrics


def conformance_payload(path: Path) -> tuple[dict[str, float], dict[str, str]]:
    """The parent run's conformance metrics (conformance.<operator>.<check> = 1 pass / 0 fail) and
    tags (tpb.conformance.<operator>.<check> = "n/a: <reason>"), from results/tables/conformance.csv."""
    from ..commands.conformance import mlflow_metrics, reports_from_rows

    if not Path(path).is_file() or Path(path).stat().st_size == 0:
        return {}, {}
    table = pd.read_csv(path, keep_default_na=False)
    return mlflow_metrics(reports_from_rows(table.to_dict("records")))


def parent_payload(tables: dict[str, pd.DataFrame], device: dict) -> tuple[dict, list[tuple[str, float, int]]]:
    """Params (the step maps) and metrics of the parent run: calibration, direct kernels, compare."""
    params: dict[str, str] = {}
    metrics: list[tuple[str, float, int]] = []
    cal = tables.get("calibration")
    if cal is not None:
        ceiling = device.get("copy_ceiling_gbs")  # the aggregate rule's, from this calibration table
        if ceiling:
            metrics.append(("copy_ceiling_gbs", float(ceiling), 0))
        for m in ("empty_launch", "empty_kernel", "empty_graph_launch"):
            sel = cal[cal["measurement"] == m]
            if len(sel):
                metrics.append((f"{m}_us", float(sel["median_us"].iloc[0]), 0))
    kern = tables.get("kernel")
    if kern is not None and len(kern):
        steps = log2_steps((int(e), "") for e in kern["elements"])
        params["steps.kernel"] = steps_param(steps)
        for (kernel, dtype, mode), grp in kern.groupby(["kernel", "dtype", "mode"]):
            for _, r in grp.iterrows():
                metrics.append((f"kernel.{kernel}.{dtype}.{mode}.bandwidth_gbs", float(r["bandwidth_gbs"]),
                                steps[(int(r["elements"]), "")]))
    tune = tables.get("tune")
    if tune is not None and len(tune):  # the tune rule's choice per dtype and the measurements behind it
        steps = log2_steps((int(e), "") for e in tune["elements"])
        params["steps.tune"] = steps_param(steps)
        tune = tune.assign(operator=tune["operator"].fillna("").astype(str) if "operator" in tune else "",
                           shape=tune["shape"].fillna("").astype(str) if "shape" in tune else "")
        several = tune["operator"].nunique() > 1  # one tuned operator: the names as before
        for (op, dtype), grp in tune.groupby(["operator", "dtype"]):
            chosen = grp[grp["chosen"].astype(bool)].drop_duplicates("band").sort_values("band")
            params[f"tune.{op + '.' if several else ''}{dtype}.table"] = "; ".join(
                f"{'above' if int(r['band_hi_bytes']) < 0 else '<= ' + str(int(r['band_hi_bytes']) >> 10) + ' KiB'}: "
                f"{r['kernel']}" for _, r in chosen.iterrows())
        for (op, dtype, path, kernel), grp in tune.groupby(["operator", "dtype", "path", "kernel"]):
            rows_of = grp["shape"].str.partition("x")[2]  # the row shape (trailing dims); "" flat
            for (_, r), row in zip(grp.iterrows(), rows_of):
                step = steps[(int(r["elements"]), "")]
                name = f"tune.{op + '.' if several else ''}{dtype}.{path}.{kernel}{'.x' + row if row else ''}"
                metrics.append((f"{name}.gbps", float(r["gbps"]), step))
                if path == "engine":
                    metrics.append((f"{name}.ratio_to_native", float(r["ratio_to_native"]), step))
    cmp = tables.get("compare")
    if cmp is not None and len(cmp):
        for profile, grp in cmp.groupby("profile"):  # one profile's shapes: steps unique per metric
            steps = log2_steps(zip(grp["elements"].astype(int), grp["shape"].astype(str)))
            params[f"steps.compare.{profile}"] = steps_param(steps)
            for _, r in grp.iterrows():
                name = f"compare.{r['operator_a']}_vs_{r['operator_b']}.{r['dtype']}.{r['profile']}.{r['mode']}"
                step = steps[(int(r["elements"]), str(r["shape"]))]
                metrics.append((f"{name}.ratio", float(r["ratio"]), step))
                metrics.append((f"{name}.difference_us", float(r["difference_us"]), step))
                if "control_ratio" in r:  # tables written before the A/A control have none
                    metrics.append((f"{name}.control_ratio", float(r["control_ratio"]), step))
    metrics += in_network_metrics(tables.get("in_network"))
    return params, metrics


IN_NETWORK_METRICS = ("ratio", "difference_us", "control_ratio", "median_plugin_us", "median_twin_us",
                      "plugin_layer_us", "plugin_alone_us", "plugin_direct_us", "integration_overhead_us", "reformats_plugin",
                      "reformats_twin")


def in_network_metrics(table: pd.DataFrame | None) -> list[tuple[str, float, int]]:
    """The in_network rule's metrics per block pair: in_network.<operator>.<block>.<size>.<dtype>.<metric>
    (plugin ÷ twin, the difference, the A/A control, the plugin layer's time in the block and alone, the
    reformats TensorRT inserted); a value the backend has none of (the CPU stand-in's layer times) is left out."""
    if table is None or table.empty:
        return []
    out = []
    for _, r in table.iterrows():
        name = f"in_network.{r['operator']}.{r['block']}.{r['size']}.{r['dtype']}"
        for m in IN_NETWORK_METRICS:
            value = float(r[m]) if m in r else math.nan
            if math.isfinite(value):
                out.append((f"{name}.{m}", value, 0))
    return out


def sweep_keys(tables: dict[str, pd.DataFrame]) -> list[str]:
    keys: dict[str, None] = {}
    for name in ("latency", "dynamic", "roundtrip", "threads"):
        t = tables.get(name)
        if t is not None:
            for op, dtype, profile in t[["operator", "dtype", "profile"]].drop_duplicates().itertuples(index=False):
                keys[sweep_key(op, dtype, profile)] = None
    return list(keys)


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Dotted keys (timing.repeats, profiles.sweep.shapes); lists and numbers as JSON."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = re.sub(r"[^\w./ :-]", "_", f"{prefix}{key}")  # the characters MLflow allows in a key
        if isinstance(value, Mapping) and value:
            out.update(flatten_config(value, name + "."))
        else:
            out[name] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return out


def fit(value: str, limit: int, full: str) -> str:
    """``value`` cut to ``limit`` characters, saying so and where the full value is."""
    if len(value) <= limit:
        return value
    marker = f" ... [truncated from {len(value)} characters; full value in {full}]"
    return value[:limit - len(marker)] + marker


def _tag_list(ids: list[str]) -> str:
    """Comma-separated run ids within MLflow's tag length, the newest kept when there are too many
    (a ``*_count`` tag beside it counts them all)."""
    while len(",".join(ids)) > MAX_TAG_LENGTH:
        ids = ids[1:]
    return ",".join(ids)


def _log(message: str) -> None:
    print(f"log_mlflow: {message}", file=sys.stderr)


# Several processes may log to one tracking server at once (two DAGs, a rerun beside a run still
# logging, the jobs of a matrix). MLflow has no transactions across requests, so the parent run of a
# set of measurements is claimed: every logging process creates its own candidate (or, for an
# interrupted parent, writes its token on it), waits CLAIM_SETTLE_S for concurrent requests to land,
# and reads back: the oldest candidate (start time, then run id) or the last token written wins; the
# others delete their candidate and wait for the winner's tpb.complete. The winner refreshes
# tpb.heartbeat as it logs; a parent whose heartbeat is older than CLAIM_STALE_S was left by a process
# that died (scancel, a lost node, the server gone), and the next process takes it over.
# Only for shared stores (a tracking server): a local SQLite or file store has one writer.
CLAIM_SETTLE_S = 2.0
CLAIM_STALE_S = 30.0
CLAIM_WAIT_S = 900.0
CLAIM_POLL_S = 1.0
TOKEN_TAG = "tpb.logging_token"
HEARTBEAT_TAG = "tpb.heartbeat"


class TrackingBusy(TrackingStoreUnreachable):
    """Another process holds these measurements' parent run and did not finish within CLAIM_WAIT_S."""


def _shared_store(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def _heartbeat(client: Any, run: Any) -> None:
    if run.data.tags.get(TOKEN_TAG):  # claimed (a shared store): say this process is still at it
        client.set_tag(run.info.run_id, HEARTBEAT_TAG, f"{time.time():.3f}")


def _claim_parent(client: Any, exp_id: str, parent_filter: str, create: Any, shared: bool) -> Any:
    """The parent run these measurements go to: a complete one (nothing to log), or one this
    process now owns (to create its children in and complete). ``create(tags)`` makes a new one."""
    import uuid

    if not shared:  # one writer: the earlier parent, complete or interrupted, or a new one
        found = client.search_runs([exp_id], filter_string=parent_filter)
        return found[0] if found else create({})
    token = uuid.uuid4().hex
    deadline = time.monotonic() + CLAIM_WAIT_S
    said_waiting = False
    while True:
        found = client.search_runs([exp_id], filter_string=parent_filter,
                                   order_by=["attributes.start_time ASC", "attributes.run_id ASC"])
        complete = [r for r in found if r.data.tags.get("tpb.complete") == "true"]
        if complete:
            return complete[0]
        if not found:  # a candidate of its own; the oldest one wins
            mine = create({TOKEN_TAG: token, HEARTBEAT_TAG: f"{time.time():.3f}"})
            time.sleep(CLAIM_SETTLE_S)
            found = client.search_runs([exp_id], filter_string=parent_filter,
                                       order_by=["attributes.start_time ASC", "attributes.run_id ASC"])
            winner = min(found, key=lambda r: (r.info.start_time, r.info.run_id), default=mine)
            if winner.info.run_id == mine.info.run_id:
                return client.get_run(mine.info.run_id)
            client.delete_run(mine.info.run_id)
            _log(f"another process is logging these measurements (run {winner.info.run_id}); waiting for it")
        else:
            parent = found[0]
            beat = float(parent.data.tags.get(HEARTBEAT_TAG, "0") or 0)
            if time.time() - beat <= CLAIM_STALE_S and not said_waiting:
                _log(f"another process is logging these measurements (run {parent.info.run_id}, its heartbeat "
                     f"{time.time() - beat:.0f} s ago); waiting for it")
                said_waiting = True
            if time.time() - beat > CLAIM_STALE_S:  # interrupted: take it over, the last token written wins
                client.set_tag(parent.info.run_id, TOKEN_TAG, token)
                client.set_tag(parent.info.run_id, HEARTBEAT_TAG, f"{time.time():.3f}")
                time.sleep(CLAIM_SETTLE_S)
                parent = client.get_run(parent.info.run_id)
                if parent.data.tags.get(TOKEN_TAG) == token:
                    _log(f"resuming the interrupted run {parent.info.run_id}")
                    return parent
        if time.monotonic() > deadline:
            raise TrackingBusy(f"another process has been logging these measurements (run {found[0].info.run_id if found else '?'}) "
                               f"for over {CLAIM_WAIT_S:.0f} s without finishing; {HINT}")
        time.sleep(CLAIM_POLL_S)


def _experiment(client: Any, target: TrackingTarget, uri: str) -> tuple[str, str]:
    """The experiment's id and name, created if named and missing, marked as a training experiment."""
    from mlflow.exceptions import MlflowException

    where = f"in the MLflow store {uri}"
    if target.experiment_name is None:
        try:
            experiment = client.get_experiment(target.experiment_id)
        except MlflowException as exc:
            raise TrackingTargetInvalid(f"MLFLOW_EXPERIMENT_ID={target.experiment_id}: no such experiment {where}; "
                                        f"{HINT}") from exc
    else:
        experiment = client.get_experiment_by_name(target.experiment_name)
        if experiment is None:
            location = None
            if uri.startswith("sqlite:///"):  # artifacts beside the database, as ./mlruns is beside ./mlflow.db
                location = (Path(uri[len("sqlite:///"):]).parent / "mlruns").as_uri()
            exp_id = client.create_experiment(target.experiment_name, artifact_location=location,
                                              tags={EXPERIMENT_KIND_TAG: TRAINING_KIND})
            return exp_id, target.experiment_name
        if target.experiment_id and target.experiment_id != experiment.experiment_id:
            raise TrackingTargetInvalid(f"MLFLOW_EXPERIMENT_ID={target.experiment_id} is not the id "
                                        f"({experiment.experiment_id}) of experiment {target.experiment_name} {where}; {HINT}")
    if experiment.lifecycle_stage == "deleted":
        raise TrackingTargetInvalid(f"experiment {experiment.name} is deleted {where} (mlflow experiments restore "
                                    f"--experiment-id {experiment.experiment_id}, or another name); {HINT}")
    if experiment.tags.get(EXPERIMENT_KIND_TAG, "") in REPLACEABLE_KINDS:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND_TAG, TRAINING_KIND)
    return experiment.experiment_id, experiment.name


def runs_url(experiment_id: str, base: str = "") -> str:
    """The address of the experiment's runs list in the MLflow UI, in the machine-learning view
    (MLflow 3.17 opens a fresh browser on the GenAI pages otherwise) with the shared view that
    selects RUNS_VIEW_COLUMNS. ``base``: the server, e.g. http://127.0.0.1:5000."""
    return (f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs"
            f"?workflowType=machine_learning&viewStateShareKey={RUNS_VIEW_KEY}")


def runs_view_state() -> dict[str, Any]:
    """The runs page's state the shared view applies: its columns, newest run first."""
    return {"searchFilter": "", "orderByKey": "attributes.start_time", "orderByAsc": False,
            "selectedColumns": list(RUNS_VIEW_COLUMNS), "columnWidths": dict(RUNS_VIEW_WIDTHS),
            "columnOrder": list(RUNS_VIEW_WIDTHS)}  # the UI applies a width only to a column in columnOrder


def _mark_experiment(client: Any, experiment_id: str) -> None:
    """The experiment's description and the runs list's shared view (rewritten when they differ)."""
    tags = client.get_experiment(experiment_id).tags
    wanted = {SHARED_VIEW_TAG_PREFIX + RUNS_VIEW_KEY: json.dumps(runs_view_state(), sort_keys=True)}
    description = tags.get("mlflow.note.content", "")
    if not description or description.startswith("trt-plugin-bench: "):  # a person's own description is left alone
        wanted["mlflow.note.content"] = EXPERIMENT_DESCRIPTION
    for key, value in wanted.items():
        if tags.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)


# flattened-config keys that are not configuration (the parent's other params) or not what was measured
NOT_CONFIG_PARAMS = ("steps.", "tune.", "mlflow.", "config_hash")


def _short(value: str, limit: int = 24) -> str:
    return value if len(value) <= limit else value[:limit - 1] + "…"


def config_changes(previous: Mapping[str, str], current: Mapping[str, str]) -> list[tuple[str, str | None, str | None]]:
    """(key, old, new) for each configuration param that differs between a previous parent run's params
    and this run's flattened config (None: the key was absent), in key order."""
    def config(params: Mapping[str, str]) -> dict[str, str]:
        return {k: fit(str(v), MAX_PARAM_LENGTH, RESOLVED_CONFIG_ARTIFACT) for k, v in params.items()
                if not k.startswith(NOT_CONFIG_PARAMS)}

    old, new = config(previous), config(current)
    return [(k, old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]


def describe_parent(tags: Mapping[str, str], config_params: Mapping[str, str], previous: Any | None,
                    backend_note: str) -> tuple[str, str, str]:
    """A parent run's name, its description (markdown, mlflow.note.content) and its ``tpb.changed`` tag.
    The name says what differs, first, since the UI cuts long names: the config keys that changed since
    ``previous`` (the latest earlier parent run, or None), else an edited plugin or another commit, then
    the short git commit, the plugin hash and the backend."""
    commit, plugin = tags["tpb.git_commit"], tags["tpb.plugin_hash"]
    backend = "CPU reference" if tags["tpb.backend"] == "reference" else tags["tpb.gpu"]
    lines: list[str] = []
    if previous is None:
        what, lines = "first run", ["The first pipeline run in this experiment."]
    else:
        prev_tags = previous.data.tags
        changes = config_changes(previous.data.params, config_params)
        parts = [f"{k}={_short(new if new is not None else '(unset)')}" for k, _, new in changes]
        what = ", ".join(parts[:NAME_CHANGES_SHOWN]) + (f" +{len(parts) - NAME_CHANGES_SHOWN} more"
                                                         if len(parts) > NAME_CHANGES_SHOWN else "")
        prev_name = prev_tags.get("mlflow.runName", previous.info.run_id)
        lines = [f"What differs from the previous run, **{prev_name}** ({previous.info.run_id}):", ""]
        lines += [f"- config `{k}`: `{old if old is not None else '(unset)'}` → `{new if new is not None else '(unset)'}`"
                  for k, old, new in changes]
        for key, label in (("tpb.plugin_hash", "plugin hash"), ("tpb.git_commit", "git commit"),
                           ("tpb.backend_label", "backend"), ("tpb.gpu", "device")):
            if prev_tags.get(key, tags.get(key)) != tags.get(key):
                lines.append(f"- {label}: `{prev_tags.get(key)}` → `{tags.get(key)}`")
        if prev_tags.get("tpb.plugin_hash") != plugin:
            what = ", ".join(p for p in (what, "plugin edited") if p)
        elif not what:
            what = "other commit" if prev_tags.get("tpb.git_commit") != commit else "same setup, new measurements"
        if len(lines) == 2:
            lines.append("- nothing in the config, plugin, commit or backend: a rerun of the same setup")
    name = f"{what} · {commit[:7]} · plugin {plugin[:7]} · {backend}"
    lines += ["", backend_note, "",
              f"git commit `{commit}`, plugin hash `{plugin}`, config hash `{tags['tpb.config_hash']}`."]
    return name, "\n".join(lines), what


def _previous_parent(client: Any, experiment_id: str) -> Any | None:
    """The latest complete parent run of the experiment, or None."""
    found = client.search_runs([experiment_id], max_results=1, order_by=["attributes.start_time DESC"],
                               filter_string=f"tags.`tpb.role` = '{PARENT_ROLE}' and tags.`tpb.complete` = 'true'")
    return found[0] if found else None


def _log_params(client: Any, run_id: str, params: Mapping[str, str], present: Mapping[str, str]) -> None:
    """Params not yet on the run (MLflow refuses to change one), in batches MLflow accepts."""
    from mlflow.entities import Param

    todo = [Param(k, fit(str(v), MAX_PARAM_LENGTH, RESOLVED_CONFIG_ARTIFACT)) for k, v in params.items() if k not in present]
    for i in range(0, len(todo), PARAMS_PER_BATCH):
        client.log_batch(run_id, params=todo[i:i + PARAMS_PER_BATCH])


def _log_metrics(client: Any, run_id: str, metrics: list[tuple[str, float, int]], now: int) -> None:
    from mlflow.entities import Metric

    objs = [Metric(m, v, now, step) for m, v, step in metrics]
    for i in range(0, len(objs), METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=objs[i:i + METRICS_PER_BATCH])


def _log_artifacts(client: Any, run_id: str, resolved: Mapping[str, Any], config_files: Iterable[str],
                   artifacts: Iterable[str], reused: Mapping[str, str]) -> list[str]:
    """The config files used, the resolved config as JSON, summary.md and the figures (those that
    exist), and which earlier child runs this parent reuses."""
    logged = []
    with tempfile.TemporaryDirectory() as tmp:
        resolved_path = Path(tmp) / Path(RESOLVED_CONFIG_ARTIFACT).name
        resolved_path.write_text(json.dumps(resolved, indent=2, sort_keys=True))
        files = [(resolved_path, "config")] + [(Path(p), "config") for p in config_files]
        if reused:
            reused_path = Path(tmp) / "reused_children.json"
            reused_path.write_text(json.dumps(reused, indent=2, sort_keys=True))
            files.append((reused_path, "runs"))
        files += [(Path(p), Path(p).parent.name or None) for p in artifacts]
        for path, folder in files:
            if not path.is_file():
                _log(f"artifact {path} does not exist; not logged")
                continue
            client.log_artifact(run_id, str(path), artifact_path=folder)
            logged.append(f"{folder}/{path.name}" if folder else path.name)
    return logged


def log_results(settings: Settings, tables_dir: Path, device_json: Path, out_path: Path,
                samples_dir: Path | None = None, config_files: Iterable[str] = (), artifacts: Iterable[str] = ()) -> dict:
    """_log_results; a tracking server that stops answering part way is named (and where its URI came
    from) in a TrackingStoreUnreachable, as one that never answered is: what was logged stays, and the
    next run of the log rule resumes the same runs (_claim_parent), so nothing is logged twice."""
    try:
        return _log_results(settings, tables_dir, device_json, out_path, samples_dir, config_files, artifacts)
    except TrackingStoreUnreachable:
        raise
    except Exception as exc:
        target = resolve_tracking({"experiment": settings.mlflow.experiment, "tracking_uri": settings.mlflow.tracking_uri},
                                  cli_keys=settings.mlflow.cli_keys)
        if not _shared_store(target.tracking_uri):
            raise
        try:
            check_store(target.tracking_uri, source=target.tracking_uri_from.split(" (")[0])
        except TrackingStoreUnreachable as lost:
            raise TrackingStoreUnreachable(f"{lost} [it stopped answering while logging: {type(exc).__name__}: "
                                           f"{str(exc).splitlines()[0][:200] if str(exc) else ''}]") from exc
        raise


def _log_results(settings: Settings, tables_dir: Path, device_json: Path, out_path: Path,
                 samples_dir: Path | None = None, config_files: Iterable[str] = (), artifacts: Iterable[str] = ()) -> dict:
    """Log the tables under ``tables_dir``. ``settings``: the whole config, typed (the log rule's
    --settings-json; its mlflow section carries the mlflow keys given with snakemake --config);
    ``config_files`` and ``artifacts``: paths to log on the parent run. Each sweep's raw samples are
    read from ``samples_dir`` (default: ``samples`` beside ``tables_dir``, i.e. results/samples)."""
    samples_dir = Path(samples_dir) if samples_dir is not None else Path(tables_dir).parent / "samples"
    resolved = settings.to_data()
    mlflow_cfg = {"experiment": settings.mlflow.experiment, "tracking_uri": settings.mlflow.tracking_uri}
    resolved["mlflow"] = dict(mlflow_cfg)  # where runs go, not how it was given (cli_keys)
    target = resolve_tracking(mlflow_cfg, cli_keys=settings.mlflow.cli_keys)
    uri = target.tracking_uri
    _log(f"MLflow store {uri}, from {target.tracking_uri_from}")
    _log(f"experiment {target.experiment_name or 'id ' + str(target.experiment_id)}, from {target.experiment_from}")
    # fail fast instead of MLflow's minutes of HTTP retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    check_store(uri, source=target.tracking_uri_from.split(" (")[0])
    from mlflow.entities import RunTag
    from mlflow.tracking import MlflowClient

    device = json.loads(Path(device_json).read_text())
    tables = load_tables(tables_dir)
    digest = results_digest(tables_dir, device)
    chash = config_hash(resolved)
    client = MlflowClient(tracking_uri=uri)
    exp_id, name = _experiment(client, target, uri)
    _mark_experiment(client, exp_id)
    identity = {k: device.get(k) for k in DEVICE_IDENTITY}

    base_tags = {
        "tpb.backend": device["backend"],
        "tpb.backend_label": device["backend_label"],
        "tpb.timing_clock": device["timing_clock"],
        "tpb.gpu": device["device_name"],
        "tpb.driver": device["driver_version"],
        "tpb.cuda": device["cuda_version"],
        "tpb.tensorrt": device["tensorrt_version"],
        "tpb.git_commit": device.get("git_commit", "unknown"),
        "tpb.plugin_source_hash": device.get("plugin_source_hash", "unknown"),
        "tpb.results_digest": digest,
        "tpb.config_hash": chash,
        "tpb.setup_hash": setup_hash(resolved),
        "tpb.plugin_hash": plugin_hash(device["backend"], settings.reference.extra_work),
    }
    note = ("CPU reference backend (numpy): these are CPU timings, not TensorRT."
            if device["backend"] == "reference" else f"Measured with {device['backend_label']}.")
    parent_filter = (f"tags.`tpb.results_digest` = '{digest}' and tags.`tpb.config_hash` = '{chash}' "
                     f"and tags.`tpb.role` = '{PARENT_ROLE}'")
    summary = {"tracking_uri": uri, "tracking_uri_from": target.tracking_uri_from, "experiment": name,
               "experiment_id": exp_id, "runs_url": runs_url(exp_id), "experiment_from": target.experiment_from, "results_digest": digest,
               "config_hash": chash, "created": [], "reused": {}, "skipped": []}

    def new_parent(tags: Mapping[str, str]) -> Any:
        # the name says what differs from the previous parent (config keys, plugin, commit), then the
        # commit, plugin hash and backend; the description lists every change (describe_parent)
        run_name, description, changed = describe_parent(
            base_tags, flatten_config(resolved), _previous_parent(client, exp_id), note)
        return client.create_run(exp_id, run_name=run_name, tags={
            **base_tags, "tpb.role": PARENT_ROLE, "tpb.changed": changed, "mlflow.note.content": description, **tags})

    parent = _claim_parent(client, exp_id, parent_filter, new_parent, shared=_shared_store(uri))
    if parent.data.tags.get("tpb.complete") == "true":
        summary["parent_run_id"] = parent.info.run_id
        summary["skipped"] = ["all: already logged"]
        _log(f"these measurements and config are logged already (run {parent.info.run_id}); nothing to do")
        _write(out_path, summary)
        return summary
    parent_id = parent.info.run_id
    summary["parent_run_id"] = parent_id
    # the parent's params: the config as resolved, where it was logged to included
    effective = {**resolved, "mlflow": {"tracking_uri": uri, "experiment": name}}
    parent_params, parent_metrics = parent_payload(tables, device)
    conformance_metrics, conformance_tags = conformance_payload(Path(tables_dir) / "conformance.csv")
    parent_metrics = [*parent_metrics, *((k, v, 0) for k, v in conformance_metrics.items())]
    for tag, value in conformance_tags.items():  # n/a checks: a tag with the reason, never a metric
        client.set_tag(parent_id, tag, value)
    _log_params(client, parent_id, {**flatten_config(effective), "config_hash": chash, **parent_params},
                parent.data.params)
    children = client.search_runs([exp_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'")
    done = {}
    for child in children:
        key = child.data.tags.get("tpb.sweep_key")
        if child.data.tags.get("tpb.complete") == "true":
            done[key] = child.info.run_id
        else:  # interrupted mid-way: replace it, never leave a duplicate
            client.delete_run(child.info.run_id)
    now = int(time.time() * 1000)
    for key in sweep_keys(tables):
        _heartbeat(client, parent)
        if key in done:
            summary["skipped"].append(key)
            continue
        params, metrics = child_payload(key, tables)
        params = {**params, "beta": str(settings.beta),
                  **{f"timing.{k}": str(v) for k, v in resolved["timing"].items()}}
        sample_file = samples_dir / f"{key}.npz"
        identity_parts = {"key": key, "params": params, "metrics": metrics, "device": identity}
        if sample_file.is_file():  # other samples are another measurement, even with equal medians
            identity_parts["samples"] = samples_digest(sample_file)
        content = _digest(identity_parts)
        earlier = client.search_runs(
            [exp_id], max_results=1, order_by=["attributes.start_time ASC"],
            filter_string=f"tags.`tpb.child_digest` = '{content}' and tags.`tpb.complete` = 'true' "
                          f"and tags.`tpb.role` = '{CHILD_ROLE}'")
        if earlier:  # unchanged since an earlier parent: point to it, do not log it again
            old = earlier[0]
            users = [p for p in old.data.tags.get("tpb.reused_by", "").split(",") if p]
            if parent_id not in users:
                count = int(old.data.tags.get("tpb.reused_by_count", "0")) + 1
                # two parents reusing this run at once both insert its first tpb.reused_by (log_record)
                log_record(client, old.info.run_id, tags=[RunTag("tpb.reused_by", _tag_list([*users, parent_id])),
                                                          RunTag("tpb.reused_by_count", str(count))], who="log_mlflow")
            summary["reused"][key] = old.info.run_id
            continue
        run = client.create_run(exp_id, run_name=key.replace("__", " / "),
                                tags={**base_tags, "tpb.role": CHILD_ROLE, "tpb.sweep_key": key, "tpb.child_digest": content,
                                      "mlflow.parentRunId": parent_id, "mlflow.note.content": note})
        rid = run.info.run_id
        _log_params(client, rid, params, {})
        _log_metrics(client, rid, metrics, now)
        if sample_file.is_file():  # before tpb.complete: an interrupted child is replaced, samples included
            client.log_artifact(rid, str(sample_file), artifact_path="samples")
        else:
            _log(f"samples file {sample_file} does not exist; {key} logged without its raw samples")
        client.set_tag(rid, "tpb.complete", "true")
        client.set_terminated(rid)
        summary["created"].append(key)
    reused = summary["reused"]
    client.set_tag(parent_id, "tpb.reused_child_count", str(len(reused)))
    client.set_tag(parent_id, "tpb.reused_child_runs", _tag_list(list(reused.values())))
    if parent_metrics and parent.data.tags.get("tpb.parent_metrics") != "logged":  # not twice on a resume
        _log_metrics(client, parent_id, parent_metrics, now)
        client.set_tag(parent_id, "tpb.parent_metrics", "logged")
    _heartbeat(client, parent)
    # the tables too (folder tables/, as summary.md): a later verdict materialises this run from them
    tables_files = [str(Path(tables_dir) / f"{n}.csv") for n in (*TABLE_NAMES, *EXTRA_TABLE_NAMES)
                    if (Path(tables_dir) / f"{n}.csv").is_file()]
    summary["artifacts"] = _log_artifacts(client, parent_id, effective, config_files,
                                          [*artifacts, *tables_files, str(device_json)], reused)
    client.set_tag(parent_id, "tpb.complete", "true")
    client.set_terminated(parent_id)
    _log(f"parent run {parent_id}: {len(summary['created'])} child runs logged, {len(reused)} reused unchanged "
         f"from earlier parents, {len(summary['skipped'])} already logged under it")
    _log(f"the runs list: `make ui` (or .venv/bin/mlflow ui), then {runs_url(exp_id, 'http://127.0.0.1:5000')}")
    _write(out_path, summary)
    return summary


def _write(path: Path, summary: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(summary, indent=2))
