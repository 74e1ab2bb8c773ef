# Is the plugin worth it in my network? (docs/in-network.md; trt_plugin_bench.commands.in_network)
rule in_network:
    """One plugin operator in one neighbourhood (config in_network.blocks) at one dtype and size: the
    block with the plugin against the block with the native twin, timed interleaved on shared buffers
    (A/A control), per-layer times (IProfiler), the layers TensorRT fused or inserted and the formats
    at the plugin's edges (engine inspector), the plugin alone. CPU: the block's numpy stand-in."""
    input:
        manifest=lambda w: dag.manifest_for(RESULTS, w.op),
    output:
        csv=R("in_network/{op}__{block}__{dtype}__{size}.csv"),
        layers=R("in_network/{op}__{block}__{dtype}__{size}.layers.csv"),
        record=R("in_network/{op}__{block}__{dtype}__{size}.json"),
    wildcard_constraints:
        block="[a-z][a-z0-9]*(_[a-z0-9]+)*",
        size="[a-z][a-z0-9]*(_[a-z0-9]+)*",
    params:
        tpb=TPB,
        backend=BACKEND,
        settings=dag.rule_settings(SETTINGS, "in-network"),
        manifest=lambda w, input: dag.manifest_arg(input.manifest),
        op=lambda w: dag.op_arg(w.op),
    log:
        R("logs/in_network/{op}__{block}__{dtype}__{size}.log"),
    resources:
        gpu=GPU_RESOURCES,
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} in-network --backend {params.backend} --settings-json {params.settings:q} --op {params.op:q} "
        "--block {wildcards.block:q} --dtype {wildcards.dtype:q} --size {wildcards.size:q} {params.manifest} "
        "--out {output.csv:q} --layers {output.layers:q} --record {output.record:q} > {log:q} 2>&1"
