rule tune:
    """plugin_kernel auto: the kernel variants measured per size band on this GPU (direct, then in an
    engine against the native twin), and the choice table the plugin engines are built with. Reruns
    on a new kernel library (a kernel edit), another GPU or driver, or a change of its own keys;
    timing.* is not among them, but for timing.l2_flush (how its cold samples start)."""
    input:
        manifest=MANIFEST,
    output:
        choice=R(dag.TUNE_CHOICE),
        table=R(dag.TUNE_TABLE),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=dag.rule_settings(SETTINGS, "tune"),
        gpu=dag.gpu_identity(BACKEND),
    log:
        R("logs/tune.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} tune --backend {params.backend} --settings-json {params.settings:q} --manifest {input.manifest:q} "
        "--out {output.table:q} --choice {output.choice:q} > {log:q} 2>&1"
