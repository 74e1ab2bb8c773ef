rule build_engine:
    """Build and serialize one engine; keep what the building process computed with it."""
    input:
        manifest=lambda w: dag.manifest_for(RESULTS, w.op),
        kernel_tables=lambda w: dag.tune_input(w.op, SETTINGS, w.dtype),
    output:
        engine=R("engines/{op}__{dtype}__{profile}.engine"),
        record=R("engines/{op}__{dtype}__{profile}.build.json"),
        golden=R("engines/{op}__{dtype}__{profile}.golden.npz"),
        accuracy=R("accuracy/{op}__{dtype}__{profile}.csv"),
    params:
        tpb=TPB,
        backend=BACKEND,
        # its profile, beta, this engine's builder settings, plugin_kernel for this dtype where the
        # operator's kernel is chosen, reference.extra_work (dag.RULE_READS["build"])
        settings=lambda w: dag.rule_settings(SETTINGS, "build", op=w.op, dtype=w.dtype, profile=w.profile),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
        kernel_tables=lambda w, input: f"--kernel-tables {shlex.quote(str(input.kernel_tables))}" if input.kernel_tables else "",
        op=lambda w: dag.op_arg(w.op),  # its name, or an external operator's spec file
    log:
        R("logs/build/{op}__{dtype}__{profile}.log"),
    resources:
        gpu_shared=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} build --backend {params.backend} --settings-json {params.settings:q} --op {params.op:q} "
        "--dtype {wildcards.dtype:q} --profile {wildcards.profile:q} --engine {output.engine:q} "
        "--golden {output.golden:q} --accuracy {output.accuracy:q} {params.manifest} {params.kernel_tables} > {log:q} 2>&1"
