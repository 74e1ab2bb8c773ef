"""What each Snakemake rule does: the DAG's plan, compile, the sweeps, tune, in_network, conformance, profile, and the pipeline's console."""
