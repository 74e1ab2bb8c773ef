rule compile_plugin:
    """Build the Swish plugin (and its pure-CUDA kernels) with CMake, and the plugin library of each
    configured operator spec that has its own (its CMake folder built, its prebuilt .so checked)."""
    input:
        plugin_sources(),
        dag.compile_inputs(dag.compile_operators(SETTINGS)),
    output:
        manifest=MANIFEST,
    params:
        tpb=TPB,
        backend=BACKEND,
        build_dir=lambda w, output: str(Path(output.manifest).parent / "plugin"),
        # the present GPU's architecture (or config compile.cuda_architectures): another GPU rebuilds
        arch=dag.cuda_architectures(SETTINGS, BACKEND),
        specs=dag.compile_spec_args(dag.compile_operators(SETTINGS)),
        cmake_log=R("logs/compile_plugin.cmake.log"),
    log:
        R("logs/compile_plugin.log"),
    threads: 2
    conda:
        CONDA_ENV
    shell:
        "{params.tpb} compile --backend {params.backend} --build-dir {params.build_dir:q} "
        "--manifest {output.manifest:q} --cuda-architectures={params.arch:q} {params.specs} "
        "--cmake-log {params.cmake_log:q} > {log:q} 2>&1"
