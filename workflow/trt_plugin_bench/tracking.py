"""Logging the aggregated tables to MLflow: one parent run per set of measurements, one nested
child run per (operator, dtype, profile) sweep.

Idempotent: runs are keyed by a digest of the measurements, so re-running the log rule finds the
runs it made and logs only what is missing (a child left half-logged by an interruption is
replaced). An unreachable store fails fast with a clear message; the tables stay on disk.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

from .config import resolve_tracking_uri
from .operators import sweep_key
from .records import TABLES

PARENT_ROLE = "pipeline"
CHILD_ROLE = "sweep"
TABLE_NAMES = tuple(TABLES)


class TrackingStoreUnreachable(RuntimeError):
    pass


def check_store(uri: str, timeout_s: float = 5.0) -> None:
    """Fail before logging anything when the store cannot be reached, naming the store."""
    hint = ("the measurements stay under results/; re-run the log rule "
            "(snakemake --cores 1 log_mlflow) once the store is back: each sweep is logged exactly once")
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if not path.parent.is_dir():
            raise TrackingStoreUnreachable(f"MLflow store {uri}: directory {path.parent} does not exist; {hint}")
        try:
            with sqlite3.connect(path, timeout=timeout_s) as conn:
                conn.execute("select 1")
        except sqlite3.Error as exc:
            raise TrackingStoreUnreachable(f"MLflow store {uri} cannot be opened ({exc}); {hint}") from exc
    elif uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s) as resp:
                if resp.status >= 400:
                    raise TrackingStoreUnreachable(f"MLflow server {uri} answered HTTP {resp.status}; {hint}")
        except (urllib.error.URLError, OSError) as exc:
            raise TrackingStoreUnreachable(f"MLflow server {uri} is unreachable ({exc}); {hint}") from exc
    elif uri.startswith("file:") or "://" not in uri:
        path = Path(uri[len("file:"):] if uri.startswith("file:") else uri)
        if path.exists() and not os.access(path, os.W_OK):
            raise TrackingStoreUnreachable(f"MLflow store {uri} is not writable; {hint}")


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
    for name in TABLE_NAMES:
        path = Path(tables_dir) / f"{name}.csv"
        if path.exists():
            h.update(name.encode())
            h.update(path.read_bytes())
    h.update(json.dumps(device, sort_keys=True).encode())
    return h.hexdigest()[:32]


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def child_payload(key: str, tables: dict[str, pd.DataFrame]) -> tuple[dict, list[tuple[str, float, int]]]:
    """Params and (metric, value, step) triples of one sweep. Steps: elements for size sweeps,
    thread count for the thread sweep."""
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
        for _, r in lat[lat["repeat"] == 0].iterrows():
            step = int(r["elements"])
            for metric, col in (("latency_median_us", "median_us"), ("latency_p99_us", "p99_us"),
                                ("latency_rse", "rse"), ("bandwidth_gbs", "bandwidth_gbs"),
                                ("pct_of_copy_ceiling", "pct_of_copy_ceiling"),
                                ("host_enqueue_us", "host_enqueue_median_us")):
                if _finite(r[col]):
                    metrics.append((f"{metric}.{r['mode']}", float(r[col]), step))
        metrics.append(("throttled_samples", float(lat["throttled"].astype(bool).sum()), 0))
    dyn = rows("dynamic")
    for _, r in dyn.iterrows():
        if r["status"] == "ok" and _finite(r["median_us"]):
            metrics.append(("dynamic_median_us", float(r["median_us"]), int(r["elements"])))
    if len(dyn):
        metrics.append(("dynamic_shapes_ok", float((dyn["status"] == "ok").sum()), 0))
        metrics.append(("dynamic_out_of_profile_rejected", float((dyn["status"] == "rejected").sum()), 0))
    rt = rows("roundtrip")
    for _, r in rt.iterrows():
        metrics.append(("roundtrip_bit_identical", float(bool(r["bit_identical"])), 0))
        metrics.append(("roundtrip_deserialize_ms", float(r["deserialize_ms"]), 0))
    th = rows("threads")
    for _, r in th.iterrows():
        metrics.append(("threads_throughput_per_s", float(r["throughput_per_s"]), int(r["threads"])))
        metrics.append(("threads_failures", float(r["failures"]), int(r["threads"])))
    prof = rows("profile")
    for _, r in prof.iterrows():
        if _finite(r["value"]):
            metrics.append((f"ncu.{r['metric']}", float(r["value"]), 0))
    return params, metrics


def sweep_keys(tables: dict[str, pd.DataFrame]) -> list[str]:
    keys: dict[str, None] = {}
    for name in ("latency", "dynamic", "roundtrip", "threads"):
        t = tables.get(name)
        if t is not None:
            for op, dtype, profile in t[["operator", "dtype", "profile"]].drop_duplicates().itertuples(index=False):
                keys[sweep_key(op, dtype, profile)] = None
    return list(keys)


def log_results(config: dict, tables_dir: Path, device_json: Path, out_path: Path) -> dict:
    uri = resolve_tracking_uri(config["mlflow"]["tracking_uri"])
    # fail fast instead of MLflow's minutes of HTTP retries
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    check_store(uri)
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    device = json.loads(Path(device_json).read_text())
    tables = load_tables(tables_dir)
    digest = results_digest(tables_dir, device)
    client = MlflowClient(tracking_uri=uri)
    name = config["mlflow"]["experiment"]
    experiment = client.get_experiment_by_name(name)
    exp_id = experiment.experiment_id if experiment else client.create_experiment(name)

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
    }
    note = ("CPU reference backend (numpy): these are CPU timings, not TensorRT."
            if device["backend"] == "reference" else f"Measured with {device['backend_label']}.")
    found = client.search_runs([exp_id], filter_string=f"tags.`tpb.results_digest` = '{digest}' and tags.`tpb.role` = '{PARENT_ROLE}'")
    summary = {"tracking_uri": uri, "experiment": name, "results_digest": digest, "created": [], "skipped": []}
    if found and found[0].data.tags.get("tpb.complete") == "true":
        summary["parent_run_id"] = found[0].info.run_id
        summary["skipped"] = ["all: already logged"]
        _write(out_path, summary)
        return summary
    if found:
        parent = found[0]
    else:
        label = "reference CPU" if device["backend"] == "reference" else device["device_name"]
        parent = client.create_run(exp_id, run_name=f"{time.strftime('%Y-%m-%d %H:%M')} {label}",
                                   tags={**base_tags, "tpb.role": PARENT_ROLE, "mlflow.note.content": note})
    parent_id = parent.info.run_id
    summary["parent_run_id"] = parent_id
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
        if key in done:
            summary["skipped"].append(key)
            continue
        params, metrics = child_payload(key, tables)
        run = client.create_run(exp_id, run_name=key.replace("__", " / "),
                                tags={**base_tags, "tpb.role": CHILD_ROLE, "tpb.sweep_key": key,
                                      "mlflow.parentRunId": parent_id, "mlflow.note.content": note})
        rid = run.info.run_id
        all_params = {**params, "beta": str(config.get("beta", 1.0)),
                      **{f"timing.{k}": str(v) for k, v in config["timing"].items()}}
        client.log_batch(rid, params=[Param(k, str(v)[:6000]) for k, v in all_params.items()])
        metric_objs = [Metric(m, v, now, step) for m, v, step in metrics]
        for i in range(0, len(metric_objs), 900):
            client.log_batch(rid, metrics=metric_objs[i:i + 900])
        client.set_tag(rid, "tpb.complete", "true")
        client.set_terminated(rid)
        summary["created"].append(key)
    parent_metrics = []
    cal = tables.get("calibration")
    if cal is not None:
        ceiling = device.get("copy_ceiling_gbs")  # the aggregate rule's, from this calibration table
        if ceiling:
            parent_metrics.append(Metric("copy_ceiling_gbs", ceiling, now, 0))
        for m in ("empty_launch", "empty_kernel", "empty_graph_launch"):
            sel = cal[cal["measurement"] == m]
            if len(sel):
                parent_metrics.append(Metric(f"{m}_us", float(sel["median_us"].iloc[0]), now, 0))
    kern = tables.get("kernel")
    if kern is not None:
        for (kernel, dtype, mode), grp in kern.groupby(["kernel", "dtype", "mode"]):
            for _, r in grp.iterrows():
                parent_metrics.append(Metric(f"kernel.{kernel}.{dtype}.{mode}.bandwidth_gbs", float(r["bandwidth_gbs"]), now, int(r["elements"])))
    cmp = tables.get("compare")
    if cmp is not None:
        for _, r in cmp.iterrows():
            name = f"compare.{r['operator_a']}_vs_{r['operator_b']}.{r['dtype']}.{r['profile']}.{r['mode']}"
            step = int(r["elements"])
            parent_metrics.append(Metric(f"{name}.ratio", float(r["ratio"]), now, step))
            parent_metrics.append(Metric(f"{name}.difference_us", float(r["difference_us"]), now, step))
            if "control_ratio" in r:  # tables written before the A/A control have none
                parent_metrics.append(Metric(f"{name}.control_ratio", float(r["control_ratio"]), now, step))
    if parent_metrics:
        for i in range(0, len(parent_metrics), 900):
            client.log_batch(parent_id, metrics=parent_metrics[i:i + 900])
    client.set_tag(parent_id, "tpb.complete", "true")
    client.set_terminated(parent_id)
    _write(out_path, summary)
    return summary


def _write(path: Path, summary: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(summary, indent=2))
