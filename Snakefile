# trt-plugin-bench: compile the plugin, build one engine per (operator, dtype, profile), sweep
# latency, dynamic shapes, the serialize/deserialize round trip and threads, log to MLflow, draw.
#
#   snakemake --cores 1                 # the whole DAG (backend from config.yaml: auto)
#   snakemake --cores 1 --report results/default/report.html
# Every output goes under results/<experiment>/ (config key experiment, default "default").
#   snakemake --cores 1 -R compile_plugin   # after a kernel change (a touched .cu does it too)
import json
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("7.32")

WORKFLOW_DIR = Path(workflow.basedir) / "workflow"
sys.path.insert(0, str(WORKFLOW_DIR))  # rules run workflow/scripts/tpb.py, which does the same

from trt_plugin_bench.core.config import (  # noqa: E402
    SET_KEY,
    ConfigError,
    apply_overrides,
    cli_mlflow_keys,
    pop_set_overrides,
    validate_config,
)
from trt_plugin_bench.core.settings import Settings  # noqa: E402

# A --configfile replaces config.yaml rather than merging into it: a small test sweep must not
# inherit the default profiles. --config key=value still overrides either.
if not getattr(workflow, "overwrite_configfiles", None):

    configfile: "config.yaml"


# Nested overrides: Snakemake's --config refuses a dotted key (timing.max_time_s=0.5) before this
# file runs, so they come as --config set='timing.max_time_s=0.5,threads.counts=[1,2]' (README),
# typed by the schema like every other value.
try:
    _raw, _overrides = pop_set_overrides(config)
    CONFIG = validate_config(apply_overrides(_raw, _overrides))  # messages name the key and the allowed values
    # the config parsed once into typed settings; each rule hands its command the part it reads
    # (dag.rule_settings: the rule's params, so only a change to that part reruns it)
    SETTINGS = Settings.from_config(
        CONFIG, mlflow_cli_keys=cli_mlflow_keys(getattr(getattr(workflow, "config_settings", None), "config", None)))
except ConfigError as exc:
    raise WorkflowError(str(exc))
config.pop(SET_KEY, None)
config.update(CONFIG)  # the typed, defaulted values (nested --config strings read as the schema says)
validate(config, "workflow/schemas/config.schema.yaml")  # Snakemake's own schema pass (defaults)

report: "workflow/report/workflow.rst"

include: "workflow/rules/common.smk"

wildcard_constraints:
    op="|".join(OPERATOR_NAMES),
    op_a="|".join(OPERATOR_NAMES),
    op_b="|".join(OPERATOR_NAMES),
    dtype="fp32|fp16|bf16",
    profile="[a-z][a-z0-9_]*",


include: "workflow/rules/compile.smk"
include: "workflow/rules/tune.smk"
include: "workflow/rules/engines.smk"
include: "workflow/rules/sweeps.smk"
include: "workflow/rules/device.smk"
include: "workflow/rules/results.smk"
include: "workflow/rules/verdict.smk"
include: "workflow/rules/conformance.smk"
include: "workflow/rules/in_network.smk"


rule all:
    input:
        R("tables/summary.md"),
        R("mlflow/logged.json"),
        expand(R("figures/{figure}.png"), figure=FIGURES),
        # seconds: nothing to compare on a first run, a bootstrap per state after a change
        R("verdict/verdict.md"),
        dag.conformance_outputs(RESULTS, SETTINGS),
        # every intermediate file too: Snakemake reruns a job whose output is missing only where a
        # job downstream has to run, so without these a file gone (an engine found corrupt and
        # removed, a failed job's outputs) would stay gone under tables that still exist. Listed
        # here, a plain rerun restores it and reruns what depends on it.
        rules.aggregate.input,
        dag.sample_outputs(RESULTS, KEYS),
        dag.engine_outputs(RESULTS, KEYS),
        dag.manifest_outputs(RESULTS, KEYS),
    default_target: True


# A failed job's reason on the console: Snakemake (7.32 and 9.x) shows only the rule, `message:
# None` and the log's path, so print the one `tpb <command>: error: <reason> [fix: ...]` line that
# each failed job's log ends with (trt_plugin_bench.cli.failure_lines: logs written since this start).
import time as _time  # noqa: E402

ONERROR_SINCE = _time.time()


onerror:
    from trt_plugin_bench.cli import failure_lines

    # tables never keep the rows of a sweep whose file is gone: the next run rewrites them
    _stale = dag.stale_tables(list(rules.aggregate.input), list(rules.aggregate.output))
    if _stale:
        print(f"trt-plugin-bench: removed {len(_stale)} aggregated tables under {R('tables')} (a sweep's file they "
              "were built from is gone); the next run restores that file and rewrites them", file=sys.stderr)
    _lines = failure_lines(Path(R("logs")), ONERROR_SINCE)
    print("trt-plugin-bench: " + ("why it failed, from each failed job's log:" if _lines else
          "no failed job's log has a `tpb ...: error:` line; see the logs named above"), file=sys.stderr)
    for _line in _lines:
        print(f"  {_line}", file=sys.stderr)
