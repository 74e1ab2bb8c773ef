rule verdict:
    """Did the change help? This run against the latest earlier run in the MLflow store of the same
    setup with another plugin (verdict.py); the first run of a project has none, and its verdict.md
    says so. Tags the run (tpb.verdict.*, metrics verdict.*); verdict.fail_on makes it a CI gate."""
    input:
        logged="results/mlflow/logged.json",  # after log_mlflow: the candidate is this run's parent run
        tables=rules.aggregate.output.tables,
        device="results/tables/device.json",
        samples=dag.sample_outputs(KEYS),
    output:
        md="results/verdict/verdict.md",
        csv="results/verdict/verdict.csv",
        png="results/verdict/verdict.png",
    params:
        tpb=TPB,
        fail_on=",".join(CONFIG["verdict"]["fail_on"]),
        # the store as log_mlflow resolves it (its mlflow keys and those given with --config)
        cfg=dag.cfg_json(mlflow=CONFIG["mlflow"],
                         mlflow_cli_keys=cli_mlflow_keys(getattr(getattr(workflow, "config_settings", None), "config", None))),
    log:
        "results/logs/verdict.log",
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} verdict --candidate results --out-dir results/verdict --config-json {params.cfg:q} "
        "--missing-baseline-ok --fail-on={params.fail_on} > {log} 2>&1"
