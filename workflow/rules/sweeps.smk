ENGINE = R("engines/{op}__{dtype}__{profile}.engine")


rule latency:
    """Every configured shape of the profile, in every timing mode, output checked first."""
    input:
        engine=ENGINE,
        manifest=lambda w: dag.manifest_for(RESULTS, w.op),
    output:
        csv=R("latency/{op}__{dtype}__{profile}.csv"),
        # every state's raw samples, for comparing two runs state by state (samples.py)
        samples=R("samples/{op}__{dtype}__{profile}.npz"),
    params:
        tpb=TPB,
        backend=BACKEND,
        # the settings it reads (dag.RULE_READS), typed: a change to one of them reruns it
        settings=lambda w: dag.rule_settings(SETTINGS, "latency", profile=w.profile),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
    log:
        R("logs/latency/{op}__{dtype}__{profile}.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} latency --backend {params.backend} --settings-json {params.settings:q} --engine {input.engine:q} "
        "{params.manifest} --out {output.csv:q} --samples {output.samples:q} > {log:q} 2>&1"


rule compare:
    """Two engines of one dtype and profile timed interleaved: the plugin against the layers it
    replaces, with clock and host drift cancelled (the plugin ÷ native table and figure)."""
    input:
        engine_a=R("engines/{op_a}__{dtype}__{profile}.engine"),
        engine_b=R("engines/{op_b}__{dtype}__{profile}.engine"),
        manifest=lambda w: dag.manifest_for(RESULTS, w.op_a) or dag.manifest_for(RESULTS, w.op_b),
    output:
        R("compare/{op_a}__vs__{op_b}__{dtype}__{profile}.csv"),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=lambda w: dag.rule_settings(SETTINGS, "compare", profile=w.profile),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
    log:
        R("logs/compare/{op_a}__vs__{op_b}__{dtype}__{profile}.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} compare --backend {params.backend} --settings-json {params.settings:q} --engine-a {input.engine_a:q} "
        "--engine-b {input.engine_b:q} {params.manifest} --out {output:q} > {log:q} 2>&1"


rule dynamic_shapes:
    """One engine, every shape in its profile; out-of-profile shapes must be refused."""
    input:
        engine=ENGINE,
        manifest=lambda w: dag.manifest_for(RESULTS, w.op),
    output:
        R("dynamic/{op}__{dtype}__{profile}.csv"),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=lambda w: dag.rule_settings(SETTINGS, "dynamic", profile=w.profile),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
    log:
        R("logs/dynamic/{op}__{dtype}__{profile}.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} dynamic --backend {params.backend} --settings-json {params.settings:q} --engine {input.engine:q} "
        "{params.manifest} --out {output:q} > {log:q} 2>&1"


rule roundtrip:
    """Deserialize the engine in a fresh process: outputs bit-identical to the building process."""
    input:
        engine=ENGINE,
        golden=R("engines/{op}__{dtype}__{profile}.golden.npz"),
        manifest=lambda w: dag.manifest_for(RESULTS, w.op),
    output:
        R("roundtrip/{op}__{dtype}__{profile}.csv"),
    params:
        tpb=TPB,
        backend=BACKEND,
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
    log:
        R("logs/roundtrip/{op}__{dtype}__{profile}.log"),
    resources:
        gpu_shared=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} roundtrip --backend {params.backend} --engine {input.engine:q} --golden {input.golden:q} "
        "{params.manifest} --out {output:q} > {log:q} 2>&1"


rule threads:
    """1..N threads on one engine, a context and a stream each, every output checked: the Python loop
    (driver python, "Python serving") and, on the tensorrt backend, the native runner trt_runner
    (driver native, plain enqueues and CUDA-graph replays), which the compile rule builds: so there
    every engine's thread sweep, ReLU's too, depends on the manifest. Beside each native run, the same
    run with trt_runner --bare-kernel (driver bare): the launch-rate probe's kernel of the engine's I/O
    bytes, the limit the concurrency table and figure divide by (concurrency.py)."""
    input:
        engine=ENGINE,
        manifest=lambda w: MANIFEST if BACKEND == "tensorrt" else dag.manifest_for(RESULTS, w.op),
    output:
        R("threads/{op}__{dtype}__{profile}.csv"),
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=dag.rule_settings(SETTINGS, "threads"),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
    log:
        R("logs/threads/{op}__{dtype}__{profile}.log"),
    threads: 4
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} threads --backend {params.backend} --settings-json {params.settings:q} --engine {input.engine:q} "
        "{params.manifest} --out {output:q} > {log:q} 2>&1"
