rule tune:
    """The kernel auto of operator {op}: its kernel variants measured per size band on this GPU
    (direct where its spec has a direct library, then in engines against its native twin), and the
    choice table its plugin engines (and those sharing its variants) are built with. One job per
    tuned operator (dag.tune_operators). Reruns on a new kernel library (a kernel edit), another GPU
    or driver, or a change of its own keys (dag.RULE_READS["tune"], narrowed to {op}: another
    operator's tune.kernels never reruns it); timing.* is not among them, but for timing.l2_flush
    (how its cold samples start)."""
    input:
        manifest=MANIFEST,
    output:
        choice=R(dag.TUNE_CHOICE),
        table=R(dag.TUNE_TABLE),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=lambda w: dag.rule_settings(SETTINGS, "tune", op=w.op),
        gpu=dag.gpu_identity(BACKEND),
        op=lambda w: dag.op_arg(w.op),  # its name, or an external operator's spec file
    log:
        R("logs/tune/{op}.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} tune --backend {params.backend} --settings-json {params.settings:q} --op {params.op:q} "
        "--manifest {input.manifest:q} --out {output.table:q} --choice {output.choice:q} > {log:q} 2>&1"
