"""The command line: one line of help per command a person types, the rules' commands hidden from
--help but callable, and every command a rule calls known to the table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from trt_plugin_bench.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]


def help_text(capsys: pytest.CaptureFixture, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_help_lists_the_public_commands_each_with_its_line(capsys: pytest.CaptureFixture) -> None:
    text = help_text(capsys)
    listed = re.findall(r"^    ([a-z][a-z-]+)(?:\s|$)", text, re.M)
    public = [name for name, c in COMMANDS.items() if not c.internal]
    assert sorted(listed) == sorted(public)
    flat = " ".join(text.split())
    for name in public:
        assert " ".join(COMMANDS[name].summary.split()) in flat, name
    assert "==SUPPRESS==" not in text and "usage: trt-plugin-bench" in text


def test_internal_commands_are_hidden_but_callable(capsys: pytest.CaptureFixture) -> None:
    internal = [name for name, c in COMMANDS.items() if c.internal]
    assert {"build", "latency", "aggregate", "log-mlflow", "figures"} <= set(internal)
    listing = help_text(capsys).split("commands the Snakefile")[0]
    for name in internal:
        assert not re.search(rf"^    {name}(?:\s|$)", listing, re.M), name
        assert COMMANDS[name].summary in " ".join(help_text(capsys, name).split()), name


def test_every_command_a_rule_calls_is_in_the_table() -> None:
    rules = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")])
    called = set(re.findall(r"\{params\.tpb\} ([a-z][a-z-]*)", rules))
    assert called and called <= set(COMMANDS), called - set(COMMANDS)


def test_every_rule_names_its_operator_as_the_command_reads_it() -> None:
    """A rule hands --op the operator's reference (dag.op_arg: its name, or an external spec's file), never the bare
    wildcard: `tpb profile --op hardswish` refused the byo example's operator on the H100 (2026-12-07)."""
    for path in [ROOT / "Snakefile", *(ROOT / "workflow" / "rules").glob("*.smk")]:
        text = path.read_text()
        assert "--op {wildcards.op" not in text, path.name
        for rule in re.split(r"^rule ", text, flags=re.M)[1:]:
            if "--op {params.op" in rule:
                assert re.search(r"op=lambda w: dag\.op_arg\(w\.op\)", rule), (path.name, rule.split(":")[0])


def test_every_table_entry_is_a_command(capsys: pytest.CaptureFixture) -> None:
    for name in COMMANDS:
        assert f"usage: trt-plugin-bench {name}" in help_text(capsys, name)


def test_the_profile_command_takes_an_external_operator_by_its_spec_file(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`tpb profile --op <spec file>` (what the rule hands it for the byo example's operator) profiles that operator
    and names its rows by the spec's name; before, the rule handed the bare name, refused on the H100 (2026-12-07)."""
    from trt_plugin_bench.commands import profiling
    from typed import typed

    monkeypatch.setattr(profiling.shutil, "which", lambda tool: None)  # no ncu, no nsys here: the rows say skipped
    spec_file = ROOT / "examples" / "byo-plugin" / "hardswish.yaml"
    rows = profiling.run_profile(typed("profile.shape=[16, 256]"), "reference", str(spec_file), "fp32", "tiny", tmp_path / "x.engine", None,
                                 tmp_path)
    assert rows and {r.operator for r in rows} == {"hardswish"}
    assert {r.metric for r in rows} == {"skipped", "nsys"}
