rule build_engine:
    """Build and serialize one engine; keep what the building process computed with it."""
    input:
        manifest=lambda w: dag.manifest_for(w.op),
        kernel_tables=lambda w: dag.tune_input(w.op, CONFIG, w.dtype),
    output:
        engine="results/engines/{op}__{dtype}__{profile}.engine",
        record="results/engines/{op}__{dtype}__{profile}.build.json",
        golden="results/engines/{op}__{dtype}__{profile}.golden.npz",
    params:
        tpb=TPB,
        backend=BACKEND,
        cfg=lambda w: dag.cfg_json(profiles={w.profile: CONFIG["profiles"][w.profile]}, beta=CONFIG["beta"],
                                   builder=dag.builder_cfg(CONFIG, w.profile),
                                   plugin_kernel=dag.plugin_kernel(w.op, CONFIG, w.dtype)),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
        kernel_tables=lambda w, input: f"--kernel-tables {input.kernel_tables}" if input.kernel_tables else "",
        op=lambda w: dag.op_arg(w.op),  # its name, or an external operator's spec file
    log:
        "results/logs/build/{op}__{dtype}__{profile}.log",
    resources:
        gpu_shared=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} build --backend {params.backend} --config-json {params.cfg:q} --op {params.op:q} "
        "--dtype {wildcards.dtype} --profile {wildcards.profile} --engine {output.engine} "
        "--golden {output.golden} {params.manifest} {params.kernel_tables} > {log} 2>&1"
