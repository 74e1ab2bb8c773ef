rule calibrate:
    """Once per machine: copy bandwidth far beyond the L2 and the empty-launch floor."""
    output:
        csv=R("calibration/calibration.csv"),
        device=R("calibration/device.json"),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=dag.rule_settings(SETTINGS, "calibrate"),
    log:
        R("logs/calibrate.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} calibrate --backend {params.backend} --settings-json {params.settings:q} "
        "--out {output.csv:q} --device-json {output.device:q} > {log:q} 2>&1"


rule kernel_bench:
    """The plugin's kernels called directly (no TensorRT): naive vs vectorized, fp32/fp16/bf16."""
    input:
        manifest=MANIFEST,
    output:
        R("kernel/kernels.csv"),
    params:
        tpb=TPB,
        settings=dag.rule_settings(SETTINGS, "kernel-bench"),
    log:
        R("logs/kernel_bench.log"),
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} kernel-bench --settings-json {params.settings:q} --manifest {input.manifest:q} "
        "--out {output:q} > {log:q} 2>&1"


rule profile:
    """Opt-in: Nsight Compute metrics of the plugin kernel at one shape (nsys where present)."""
    input:
        engine=ENGINE,
        manifest=lambda w: dag.manifest_for(RESULTS, w.op),
    output:
        R("profile/{op}__{dtype}__{profile}.csv"),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=dag.rule_settings(SETTINGS, "profile"),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
        op=lambda w: dag.op_arg(w.op),  # its name, or an external operator's spec file
    log:
        R("logs/profile/{op}__{dtype}__{profile}.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} profile --backend {params.backend} --settings-json {params.settings:q} --op {params.op:q} "
        "--dtype {wildcards.dtype:q} --profile {wildcards.profile:q} --engine {input.engine:q} {params.manifest} "
        "--out {output:q} > {log:q} 2>&1"
