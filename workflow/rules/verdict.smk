rule verdict:
    """Did the change help? This run against the latest earlier run in the MLflow store of the same
    setup with another plugin (verdict.py); the first run of a project has none, and its verdict.md
    says so. Tags the run (tpb.verdict.*, metrics verdict.*); verdict.fail_on makes it a CI gate."""
    input:
        logged=R("mlflow/logged.json"),  # after log_mlflow: the candidate is this run's parent run
        tables=rules.aggregate.output.tables,
        device=R("tables/device.json"),
        samples=dag.sample_outputs(RESULTS, KEYS),
    output:
        md=R("verdict/verdict.md"),
        csv=R("verdict/verdict.csv"),
        png=R("verdict/verdict.png"),
    params:
        tpb=TPB,
        candidate=lambda w, input: str(Path(input.device).parents[1]),  # results/<experiment>
        out_dir=lambda w, output: str(Path(output.md).parent),
        fail_on=",".join(SETTINGS.verdict.fail_on),
        # the store as log_mlflow resolves it (its mlflow keys and those given with --config)
        settings=dag.rule_settings(SETTINGS, "verdict"),
    log:
        R("logs/verdict.log"),
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} verdict --candidate {params.candidate:q} --out-dir {params.out_dir:q} --settings-json {params.settings:q} "
        "--missing-baseline-ok --fail-on={params.fail_on:q} > {log:q} 2>&1"
