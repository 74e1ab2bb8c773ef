"""Every command in the docs is run by a test: README.md, docs/*.md and examples/byo-plugin/README.md.

The commands are the lines of fenced sh/bash/console blocks and the inline code spans that start with
`make `, `.venv/bin/`, `trt-plugin-bench `, `printf `, `bash ` or `workflow/scripts/`. Each is either

- RUN here for real, in a copy of the project (tests/project_copy.py, with .venv linked in): the cheap
  ones as written (`--help`, `check-config`, `config-reference`, `printf`), and every Snakemake
  invocation as a dry run (`make pipeline SNAKEMAKE_ARGS="X"` as `.venv/bin/snakemake -n --cores 1 X`,
  `.venv/bin/snakemake ...` with `-n`): the config is validated and the whole DAG resolved; or
- MAPPED to the test or CI step that runs it in full (make test, the GPU session, an end-to-end DAG
  test), which must exist.

A doc command that is neither fails test_every_doc_command_is_run_or_mapped, naming it. The docs
under docs/runs/ are dated records of what ran on a GPU machine (not instructions) and are not read.
The dated runs' tables, the links between pages and the CLI's command names are checked here too.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from project_copy import copy_project

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples" / "byo-plugin" / "README.md"]
SHELL_LANGS = {"sh", "bash", "console", "shell"}
INLINE_STARTS = ("make ", ".venv/bin/", "trt-plugin-bench ", "printf ", "workflow/scripts/", "bash ",
                 # false names, so that test_no_false_command_names sees them
                 "snakemake ", "tpb ", "mlflow ", "python ", "python3 ", "pytest ")
# the two README commands, in this order, are the README's first command block
README_COMMANDS = ["make pipeline", "make test"]
# link targets written on another branch of this session (docs/clusters.md: the clusters helper);
# once merged they are checked like any other link
PENDING_LINKS: set[str] = set()


@dataclass(frozen=True)
class DocCommand:
    doc: str
    line: int
    text: str


def _clean(line: str) -> str:
    """A command without its prompt and trailing comment, whitespace collapsed."""
    line = re.sub(r"^\s*\$\s+", "", line)
    line = re.sub(r"\s+#\s.*$", "", line)
    return " ".join(line.split())


def doc_commands(path: Path) -> list[DocCommand]:
    """The commands of one markdown file: each line of its shell blocks (a trailing backslash joins
    the next line) and its inline command spans."""
    out: list[DocCommand] = []
    rel = str(path.relative_to(ROOT))
    fence: str | None = None
    pending = ""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        opened = re.match(r"^\s*```(\w*)", line)
        if opened:
            fence = None if fence is not None else opened.group(1)
            continue
        if fence is not None:
            if fence not in SHELL_LANGS or line.lstrip().startswith("#"):
                continue
            text = pending + line
            if text.rstrip().endswith("\\"):
                pending = text.rstrip()[:-1] + " "
                continue
            pending = ""
            if _clean(text):
                out.append(DocCommand(rel, number, _clean(text)))
            continue
        for span in re.findall(r"(?<!`)`([^`]+)`(?!`)", line):
            if span.startswith(INLINE_STARTS) and " " in span.strip():
                out.append(DocCommand(rel, number, _clean(span)))
    return out


def all_commands() -> list[DocCommand]:
    return [c for doc in DOCS for c in doc_commands(doc)]


# Commands run in full elsewhere: the command -> the tests or CI steps that run it ("path::test" or
# "path: text it contains"). Each must exist (test_mapped_targets_exist).
MAPPED: dict[str, list[str]] = {
    # docs/clusters.md: the harness (make cluster-test, CI) runs each of these on 127.0.0.1
    ".venv/bin/pip install -r requirements-cluster.txt": ["workflow/scripts/cluster/harness.sh: requirements-cluster.txt"],
    "bash workflow/scripts/cluster/harness.sh up": ["workflow/scripts/cluster/harness.sh: up) up ;;"],
    "make cluster-test": [".ci/run: bash workflow/scripts/cluster/harness.sh", "Makefile: cluster-test:"],
    "out=$(mktemp -d)": ["tests/test_spec_libraries.py: nvcc"],
    "make pipeline": ["tests/test_pipeline.py::test_every_output_exists", ".ci/run: --configfile tests/configs/small.yaml"],
    "make test": [".ci/run: make test"],
    "make lint": [".ci/run: make lint"],
    "make kernels-check": [".ci/run: make kernels-check"],
    "bash .ci/run": [".ci/run: ci: all steps passed"],
    "make ui": ["tests/test_docs.py::test_ui_prints_the_runs_address",
                "workflow/scripts/mlflow_screens.py: mlflow\"), \"ui\""],
    ".venv/bin/mlflow ui": ["workflow/scripts/mlflow_screens.py: mlflow\"), \"ui\""],
    ".venv/bin/python workflow/scripts/mlflow_screens.py --out docs/screens": [
        "workflow/scripts/mlflow_screens.py: def main"],
    'make pipeline SNAKEMAKE_ARGS="--configfile config.yaml config.cpu-full.yaml"': [
        "tests/test_new_user.py::test_default_config_is_quick_on_the_cpu_and_unchanged_on_the_gpu"],
    'make pipeline SNAKEMAKE_ARGS="--configfile examples/byo-plugin/config.yaml"': [
        "tests/test_byo_example.py::test_the_example_runs_through_the_dag"],
    'make pipeline SNAKEMAKE_ARGS="--configfile config.yaml slow.yaml"': [
        "tests/test_verdict.py::test_extra_work_repeats_the_plugin_computation",
        "tests/test_verdict.py::test_default_baseline_skips_runs_with_the_same_plugin",
        "tests/test_verdict.py::test_end_to_end_planted_slowdown_is_slow"],
    "make pipeline SNAKEMAKE_ARGS=\"--config set='timing.max_time_s=0.5'\"": [
        "tests/test_pipeline.py::test_config_change_reruns_only_its_users"],
    "make pipeline SNAKEMAKE_ARGS=\"--config set='timing.max_time_s=0.5,threads.counts=[1,2]'\"": [
        "tests/test_pipeline.py::test_config_change_reruns_only_its_users"],
    ".venv/bin/snakemake --cores 1": ["tests/test_pipeline.py::test_every_output_exists"],
    ".venv/bin/snakemake --cores 1 -R compile_plugin": [
        "tests/test_pipeline.py::test_kernel_edit_reruns_compile_and_only_its_dependents"],
    ".venv/bin/snakemake --cores 1 --configfile tests/configs/small.yaml": [
        ".ci/run: --configfile tests/configs/small.yaml"],
    ".venv/bin/python -m pytest tests/test_config.py -q": [".ci/run: make test"],
    ".venv/bin/python -m pytest -m gpu": ["workflow/scripts/device_session.sh: pytest"],
    # the GPU session's in_network run (never in CI; on the CPU its blocks are above the stand-in's limit):
    # the rule on the CPU in full is the byo example's DAG test
    ".venv/bin/snakemake --cores 1 --configfile tests/configs/gpu-in-network.yaml": [
        "tests/configs/gpu-in-network.yaml: experiment: gpu-in-network",
        "tests/test_byo_example.py::test_the_example_runs_through_the_dag"],
    ".venv/bin/python -m pytest -m gpu tests/test_gpu_in_network.py": [
        "tests/test_gpu_in_network.py::test_the_block_pair_is_built_checked_profiled_and_inspected"],
    # the GPU session (TensorRT and a GPU; never in CI): how the dated runs in docs/runs/ were made
    "workflow/scripts/device_session.sh check tests dag pack": ["workflow/scripts/device_session.sh: pack"],
    "workflow/scripts/device_session.sh conformance": ["workflow/scripts/device_session.sh: conformance"],
    "workflow/scripts/device_background.sh start BUDGET_S 'command' ...": [
        "tests/test_device_background.py::test_steps_run_within_the_budget_and_a_poll_brings_back_their_output"],
    "workflow/scripts/device_background.sh poll 540": [
        "tests/test_device_background.py::test_steps_run_within_the_budget_and_a_poll_brings_back_their_output"],
    "workflow/scripts/device_session.sh suite": ["workflow/scripts/device_session.sh: gpu_suite.sh",
                                                 "tests/test_gpu_suite_script.py::"
                                                 "test_every_test_gets_its_outcome_and_a_crash_does_not_hide_the_rest"],
    ".venv/bin/trt-plugin-bench ui": ["tests/test_docs.py::test_ui_prints_the_runs_address"],
    ".venv/bin/trt-plugin-bench conformance-matrix results/<experiment>/conformance/*.json": [
        "tests/test_conformance.py::test_matrix_command_exit_status"],
    ".venv/bin/snakemake --cores 1 --configfile examples/byo-plugin/config.yaml": [
        "tests/test_byo_example.py::test_the_example_runs_through_the_dag"],
    ".venv/bin/trt-plugin-bench verdict --candidate results/default --baseline-rev HEAD~1": [
        "tests/test_verdict.py::test_rev_with_no_run_names_the_rev"],
    # docs/verdict.md: the CPU A/A measurement (its test runs it on synthetic runs) and the GPU check (the GPU only)
    ".venv/bin/python workflow/scripts/verdict_false_positives.py --same results/a1 results/a2 results/a3 --slow "
    "results/s1": ["tests/test_verdict.py::test_the_false_positive_script_counts_aa_pairs_and_planted_slowdowns"],
    ". /opt/trtkit/env.sh && bash workflow/scripts/verdict_gpu_check.sh docs/runs/h100-2026-12-06-verdict": [
        "workflow/scripts/verdict_gpu_check.sh: run_case naive --candidate-kernel naive"],
    # docs/development.md: the GPU session's answer to issue 23's "the same tables as before" (results/default
    # needs the default DAG on an H100); its test runs the same command on the committed reference against itself
    ".venv/bin/python workflow/scripts/compare_runs.py docs/runs/h100-2026-11-24d results/default/tables --out "
    "results/default/compare_runs.md": ["tests/test_compare_runs.py::test_the_committed_h100_reference_against_itself"],
    "workflow/scripts/device_session.sh dag same pack": [
        "workflow/scripts/device_session.sh: compare_runs.py docs/runs/h100-2026-11-24d"],
    # needs TensorRT headers (never in CI): the same files compile in the GPU session's compile rule
    "for f in hardSwishKernel.cu hardSwishPlugin.cpp hardSwishLibrary.cpp; do": [
        "tests/test_spec_libraries.py: nvcc"],
    'nvcc -std=c++17 -I/path/to/TensorRT/include -c "examples/byo-plugin/$f" -o "$out/$f.o"; done': [
        "tests/test_spec_libraries.py: nvcc"],
}


def dry_run(command: str) -> list[str] | None:
    """The dry-run form of a Snakemake command, or None for another command."""
    words = shlex.split(command)
    if words[:2] == ["make", "pipeline"]:
        args = [w.split("=", 1)[1] for w in words[2:] if w.startswith("SNAKEMAKE_ARGS=")]
        return [*SNAKEMAKE, "-n", "--cores", "1", *(shlex.split(args[0]) if args else [])]
    if words[:1] == [".venv/bin/snakemake"]:
        return [*SNAKEMAKE, *words[1:], "-n"]
    return None


# pip's console scripts (.venv/bin/snakemake) cannot start in a project whose path holds a `$` (CI runs
# in one): the dry runs start Snakemake through the venv's python, which is what that script does
SNAKEMAKE = [".venv/bin/python", "-m", "snakemake"]


def runs_here(command: str) -> bool:
    """Run by test_cheap_doc_commands_run: a dry run, or a command cheap enough to run as written."""
    if dry_run(command) is not None:
        return True
    cheap = (".venv/bin/trt-plugin-bench --help", ".venv/bin/trt-plugin-bench check-config ",
             ".venv/bin/trt-plugin-bench config-reference", ".venv/bin/trt-plugin-bench ui --print-url",
             ".venv/bin/trt-plugin-bench verdict --help", "printf ")
    return command.startswith(cheap)


def test_every_doc_command_is_run_or_mapped() -> None:
    commands = all_commands()
    assert len(commands) > 20, "the extractor found too few commands: has the markdown changed form?"
    orphans = [f"{c.doc}:{c.line}: {c.text}" for c in commands if not runs_here(c.text) and c.text not in MAPPED]
    assert not orphans, "doc commands neither run by tests/test_docs.py nor mapped in its MAPPED table:\n" + \
        "\n".join(orphans)


def test_dry_runs_are_run_in_full_elsewhere() -> None:
    """A Snakemake command is dry-run here; the run itself must be a test's or CI's (MAPPED)."""
    missing = [f"{c.doc}:{c.line}: {c.text}" for c in all_commands()
               if dry_run(c.text) is not None and "-n" not in c.text.split() and c.text not in MAPPED]
    assert not missing, "map these to the test that runs them in full:\n" + "\n".join(missing)


def test_mapped_targets_exist() -> None:
    for command, targets in MAPPED.items():
        for target in targets:
            if "::" in target:
                path, name = target.split("::")
                assert f"def {name}(" in (ROOT / path).read_text(), f"{command!r} maps to {target}, which is gone"
            else:
                path, text = target.split(": ", 1)
                assert text in (ROOT / path).read_text(), f"{command!r} maps to {target}, which is gone"


def test_mapped_commands_are_in_the_docs() -> None:
    """A mapping whose command left the docs is stale: drop it."""
    texts = {c.text for c in all_commands()}
    assert not [m for m in MAPPED if m not in texts]


def test_readme_starts_with_the_two_commands() -> None:
    first = doc_commands(ROOT / "README.md")[:2]
    assert [c.text for c in first] == README_COMMANDS
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def test_no_false_command_names() -> None:
    """`tpb` is no installed command and bare `snakemake` is not on PATH (the venv's is)."""
    for c in all_commands():
        words = c.text.split()
        assert words[0] not in ("tpb", "trt-plugin-bench", "snakemake", "mlflow", "python", "python3", "pytest"), \
            f"{c.doc}:{c.line}: {c.text}"


def test_cli_names_in_the_docs_exist() -> None:
    from trt_plugin_bench.cli import COMMANDS

    for doc in [*DOCS, ROOT / "docs" / "configuration.md"]:
        text = doc.read_text()
        for name in re.findall(r"(?:trt-plugin-bench|python -m trt_plugin_bench) ([a-z][a-z-]*)", text):
            assert name in COMMANDS and not COMMANDS[name].internal, f"{doc.name}: trt-plugin-bench {name}"


def test_links_resolve() -> None:
    """Every relative link of every tracked markdown file (the dated runs too) names a file that exists."""
    listed = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    files = [ROOT / f for f in listed] or [*DOCS, *(ROOT / "docs" / "runs").rglob("*.md")]
    broken = []
    for doc in files:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (doc.parent / target.split("#")[0]).resolve()
            if not path.exists() and str(path.relative_to(ROOT)) not in PENDING_LINKS:
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not broken


def test_configuration_reference_is_up_to_date() -> None:
    """docs/configuration.md is what `trt-plugin-bench config-reference` writes from the schema."""
    from trt_plugin_bench.core.config_reference import config_reference

    assert (ROOT / "docs" / "configuration.md").read_text() == config_reference(), \
        "the config schema changed: run `.venv/bin/trt-plugin-bench config-reference > docs/configuration.md`"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy with the configs the docs name and the venv linked in, so commands run as written."""
    project = copy_project(tmp_path_factory.mktemp("docs") / "project")
    for name in ("config.cpu-full.yaml", "examples", "docs"):
        src = ROOT / name
        dst = project / name
        if src.is_dir():
            import shutil

            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("runs", "screens", "build"))
        else:
            dst.write_bytes(src.read_bytes())
    (project / ".venv").symlink_to(Path(sys.executable).parents[1])
    return project


def _env(project: Path) -> dict[str, str]:
    # the tree under test wins over an installed copy; MLflow's variables must not steer these runs
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return {**env, "PYTHONPATH": str(ROOT / "workflow")}


def test_cheap_doc_commands_run(project: Path) -> None:
    """The cheap commands as written, and every Snakemake command as a dry run (the config validated,
    the whole DAG resolved), in the docs' order (printf writes slow.yaml before its run needs it)."""
    done: set[tuple[str, ...]] = set()
    for c in all_commands():
        if not runs_here(c.text):
            continue
        argv = dry_run(c.text)
        key = tuple(sorted(argv)) if argv else (c.text,)
        if key in done:
            continue
        done.add(key)
        if argv is None:
            proc = subprocess.run(["bash", "-c", c.text], cwd=project, env=_env(project), capture_output=True,
                                  text=True, timeout=300)
        else:
            proc = subprocess.run(argv, cwd=project, env=_env(project), capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{c.doc}:{c.line}: {c.text}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    assert len(done) >= 8


def test_ui_prints_the_runs_address(project: Path) -> None:
    """`make ui` is `trt-plugin-bench ui`: with a logged run, it names the runs list's address (the
    server it then starts is MLflow's own, run by workflow/scripts/mlflow_screens.py)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("trt-plugin-bench") or client.get_experiment(
        client.create_experiment("trt-plugin-bench"))
    proc = subprocess.run([".venv/bin/trt-plugin-bench", "ui", "--print-url"], cwd=project, env=_env(project),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (f"http://127.0.0.1:5000/#/experiments/{experiment.experiment_id}/runs?workflowType=machine_learning"
            in proc.stdout)
    assert "ui:" in (ROOT / "Makefile").read_text() and "trt-plugin-bench ui" in (ROOT / "Makefile").read_text()
