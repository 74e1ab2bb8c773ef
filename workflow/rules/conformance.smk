rule conformance:
    """The plugin contract, per operator (trt_plugin_bench.commands.conformance): CUDA-graph capture and no
    synchronization, contexts on several profiles at once, clone independence, a fresh process at
    shapes other than opt, every way of loading the library, V2 = V3, compute-sanitizer. Each check
    in a fresh process, pass / fail / n/a with its reason; n/a throughout on the CPU reference backend
    ("no TensorRT"), and for TensorRT's own layers where there is no plugin to check."""
    input:
        # the tensorrt backend's sanitizer check runs trt_runner, which the compile rule builds
        manifest=lambda w: MANIFEST if BACKEND == "tensorrt" else dag.manifest_for(RESULTS, w.op),
    output:
        R("conformance/{op}.json"),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=dag.rule_settings(SETTINGS, "conformance"),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
        op=lambda w: dag.op_arg(w.op),
    log:
        R("logs/conformance/{op}.log"),
    resources:
        gpu_shared=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} conformance --backend {params.backend} --settings-json {params.settings:q} --op {params.op:q} "
        "{params.manifest} --out {output:q} > {log:q} 2>&1"
