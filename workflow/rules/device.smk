rule calibrate:
    """Once per machine: copy bandwidth far beyond the L2 and the empty-launch floor."""
    output:
        csv="results/calibration/calibration.csv",
        device="results/calibration/device.json",
    params:
        tpb=TPB,
        backend=BACKEND,
        cfg=dag.cfg_json(calibration=CONFIG["calibration"], timing=CONFIG["timing"]),
    log:
        "results/logs/calibrate.log",
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} calibrate --backend {params.backend} --config-json {params.cfg:q} "
        "--out {output.csv} --device-json {output.device} > {log} 2>&1"


rule kernel_bench:
    """The plugin's kernels called directly (no TensorRT): naive vs vectorized, fp32/fp16/bf16."""
    input:
        manifest=MANIFEST,
    output:
        "results/kernel/kernels.csv",
    params:
        tpb=TPB,
        cfg=dag.cfg_json(kernel_bench=CONFIG.get("kernel_bench", {}), timing=CONFIG["timing"],
                     dtypes=CONFIG["dtypes"], beta=CONFIG["beta"]),
    log:
        "results/logs/kernel_bench.log",
    resources:
        gpu=1,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} kernel-bench --config-json {params.cfg:q} --manifest {input.manifest} "
        "--out {output} > {log} 2>&1"


rule profile:
    """Opt-in: Nsight Compute metrics of the plugin kernel at one shape (nsys where present)."""
    input:
        engine=ENGINE,
        manifest=lambda w: dag.manifest_for(w.op),
    output:
        "results/profile/{op}__{dtype}__{profile}.csv",
    params:
        tpb=TPB,
        backend=BACKEND,
        cfg=dag.cfg_json(profile=PROFILE_CFG),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
    log:
        "results/logs/profile/{op}__{dtype}__{profile}.log",
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} profile --backend {params.backend} --config-json {params.cfg:q} --op {wildcards.op} "
        "--dtype {wildcards.dtype} --profile {wildcards.profile} --engine {input.engine} {params.manifest} "
        "--out {output} > {log} 2>&1"
