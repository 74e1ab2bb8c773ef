from trt_plugin_bench.report.aggregate import set_aside_damaged
from trt_plugin_bench.core.config import mlflow_env_fingerprint, resolve_tracking
from trt_plugin_bench.report.mlflow_store import stale_log_marker


# Every per-sweep table, by kind. A per-sweep CSV damaged after its rule ran (emptied, cut short) is
# set aside now (aggregate.set_aside_damaged), and rule all asks for each of them: Snakemake does not
# rerun a job for a missing intermediate file while the files made from it are there, so without
# that a plain rerun would say "Nothing to be done".
SWEEP_TABLES = {
    "latency": dag.sweep_outputs(RESULTS, "latency", KEYS), "dynamic": dag.sweep_outputs(RESULTS, "dynamic", KEYS),
    "roundtrip": dag.sweep_outputs(RESULTS, "roundtrip", KEYS),
    "threads": dag.sweep_outputs(RESULTS, "threads", THREAD_KEYS),
    "compare": dag.sweep_outputs(RESULTS, "compare", COMPARE_KEYS), "calibration": [R("calibration/calibration.csv")],
    "kernel": [R("kernel/kernels.csv")] if KERNEL_BENCH else [],
    "profile": [R(f"profile/{PROFILE_KEY}.csv")] if PROFILE_KEY else [],
    "tune": dag.tune_outputs(RESULTS, dag.TUNE_TABLE, TUNE_OPS),
    "accuracy": dag.sweep_outputs(RESULTS, "accuracy", KEYS),
    "in_network": dag.in_network_outputs(RESULTS, IN_NETWORK_KEYS),
    "in_network_layers": dag.in_network_layer_outputs(RESULTS, IN_NETWORK_KEYS),
}
for _line in set_aside_damaged(SWEEP_TABLES):
    logger.info(f"trt-plugin-bench: {_line}: its rule runs again")


rule aggregate:
    """Per-sweep CSVs -> one tidy table per measurement kind, the device record and a summary."""
    input:
        latency=dag.sweep_outputs(RESULTS, "latency", KEYS),
        dynamic=dag.sweep_outputs(RESULTS, "dynamic", KEYS),
        roundtrip=dag.sweep_outputs(RESULTS, "roundtrip", KEYS),
        threads=dag.sweep_outputs(RESULTS, "threads", THREAD_KEYS),
        compare=dag.sweep_outputs(RESULTS, "compare", COMPARE_KEYS),
        calibration=R("calibration/calibration.csv"),
        device=R("calibration/device.json"),
        kernel=[R("kernel/kernels.csv")] if KERNEL_BENCH else [],
        profile=[R(f"profile/{PROFILE_KEY}.csv")] if PROFILE_KEY else [],
        tune=dag.tune_outputs(RESULTS, dag.TUNE_TABLE, TUNE_OPS),
        conformance=dag.conformance_outputs(RESULTS, SETTINGS),
        accuracy=dag.sweep_outputs(RESULTS, "accuracy", KEYS),
        in_network=dag.in_network_outputs(RESULTS, IN_NETWORK_KEYS),
        in_network_layers=dag.in_network_layer_outputs(RESULTS, IN_NETWORK_KEYS),
    output:
        tables=expand(R("tables/{name}.csv"),
                      name=["latency", "dynamic", "roundtrip", "threads", "calibration", "kernel", "profile", "compare",
                            "tune", "conformance", "accuracy", "in_network", "in_network_layers"]),
        device=R("tables/device.json"),
        summary=report(R("tables/summary.md"), category="Summary"),
    params:
        tpb=TPB,
        tables_dir=lambda w, output: str(Path(output.device).parent),  # derived: snakemake --lint
        skipped=json.dumps(SKIPPED + IN_NETWORK_SKIPPED),
    log:
        R("logs/aggregate.log"),
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} aggregate --device-json {input.device:q} --out-dir {params.tables_dir:q} "
        "--skipped {params.skipped:q} --latency {input.latency:q} --dynamic {input.dynamic:q} "
        "--roundtrip {input.roundtrip:q} --threads {input.threads:q} --compare {input.compare:q} --calibration {input.calibration:q} "
        "--kernel {input.kernel:q} --profile {input.profile:q} --tune {input.tune:q} --conformance {input.conformance:q} "
        "--accuracy {input.accuracy:q} --in_network {input.in_network:q} --in_network_layers {input.in_network_layers:q} "
        "> {log:q} 2>&1"


# what log_mlflow logs on the parent run besides the tables: the config files this invocation read,
# summary.md and the figures (the figures rule, defined below, makes them)
CONFIG_FILES = [str(f) for f in getattr(workflow, "configfiles", [])]
PARENT_ARTIFACTS = [R("tables/summary.md"), *expand(R("figures/{figure}.png"), figure=FIGURES),
                    *dag.tune_outputs(RESULTS, dag.TUNE_CHOICE, TUNE_OPS)]


# A deleted (or moved) sqlite store holds none of what the log rule's marker says it logged: the
# marker goes, so this invocation (a dry run too) schedules the log rule, which logs what is on disk.
_LOG_MARKER = Path(R("mlflow/logged.json"))
_STORE_GONE = stale_log_marker(_LOG_MARKER, resolve_tracking(
    {"experiment": SETTINGS.mlflow.experiment, "tracking_uri": SETTINGS.mlflow.tracking_uri},
    cli_keys=SETTINGS.mlflow.cli_keys).tracking_uri)
if _STORE_GONE:
    logger.info(f"trt-plugin-bench: {_STORE_GONE}")
    _LOG_MARKER.unlink(missing_ok=True)


rule log_mlflow:
    """One MLflow parent run per set of measurements and config (its params, the config files,
    summary and figures as artifacts), a nested run per changed sweep; never duplicated."""
    input:
        rules.aggregate.output.tables,
        PARENT_ARTIFACTS,
        CONFIG_FILES,
        device=R("tables/device.json"),
        samples=dag.sample_outputs(RESULTS, KEYS),  # each sweep's child run logs its raw samples
    output:
        R("mlflow/logged.json"),
    params:
        tpb=TPB,
        # plain values, not functions of the input: Snakemake reruns a rule on a change of its
        # non-derived params only. The whole config typed (the parent run's params; its mlflow
        # section names the keys given with --config, which win over MLFLOW_TRACKING_URI), the files
        # to log, and a digest of MLflow's environment variables (setting MLFLOW_TRACKING_URI reruns
        # this rule; the command reads the variables themselves)
        settings=dag.rule_settings(SETTINGS, "log-mlflow"),
        tables_dir=lambda w, input: str(Path(input.device).parent),
        config_files=CONFIG_FILES,
        artifacts=PARENT_ARTIFACTS,
        mlflow_env=mlflow_env_fingerprint(),
    log:
        R("logs/log_mlflow.log"),
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} log-mlflow --settings-json {params.settings:q} --tables-dir {params.tables_dir:q} "
        "--config-file {params.config_files:q} --artifact {params.artifacts:q} --out {output:q} > {log:q} 2>&1"


rule figures:
    """One figure per question this run's tables can answer (FIGURES: figure_plan), each labelled
    with the backend, device and versions; the figures it cannot draw are named in summary.md."""
    input:
        rules.aggregate.output.tables,
        device=R("tables/device.json"),
    output:
        [report(R(f"figures/{name}.png"), category="Figures", caption="../report/figure.rst")
         for name in FIGURES],
    params:
        tpb=TPB,
        tables_dir=lambda w, input: str(Path(input.device).parent),
        figures_dir=lambda w, output: str(Path(output[0]).parent),
    log:
        R("logs/figures.log"),
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} figures --tables-dir {params.tables_dir:q} --out-dir {params.figures_dir:q} > {log:q} 2>&1"
