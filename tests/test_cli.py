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


def test_every_table_entry_is_a_command(capsys: pytest.CaptureFixture) -> None:
    for name in COMMANDS:
        assert f"usage: trt-plugin-bench {name}" in help_text(capsys, name)
