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
        fail_on=",".join(SETTINGS.verdict.fail_on),
        # the store as log_mlflow resolves it (its mlflow keys and those given with --config)
        settings=dag.rule_settings(SETTINGS, "verdict"),
    log:
        "results/logs/verdict.log",
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} verdict --candidate results --out-dir results/verdict --settings-json {params.settings:q} "
        "--missing-baseline-ok --fail-on={params.fail_on:q} > {log:q} 2>&1"
