"""The deliberately broken copy of examples/byo-plugin (tests/fixtures/byo-broken/edits.yaml): the
example copied to a folder and the fixture's edits applied there (a shallow clone, a synchronizing
enqueue), its spec renamed. The shipped example holds no fault code."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "byo-plugin"
EDITS = ROOT / "tests" / "fixtures" / "byo-broken" / "edits.yaml"


@dataclass(frozen=True)
class BrokenCopy:
    folder: Path  # the copy: the example's sources with the faults, its CMakeLists.txt, its spec
    spec: Path  # the copy's hardswish.yaml, renamed (spec.name in the edits file)
    conformance_failures: tuple[str, ...]  # the conformance checks it must fail, and no other
    host_check_failures: tuple[str, ...]  # byoExampleCheck's lines it must fail, and no other


def fixture() -> dict:
    return yaml.safe_load(EDITS.read_text())


def apply_edits(folder: Path, edits: list[dict]) -> None:
    """Each edit's ``find`` replaced by its ``replace`` in ``folder/file``; it must occur exactly once."""
    for i, edit in enumerate(edits):
        path = folder / edit["file"]
        text = path.read_text()
        found = text.count(edit["find"])
        if found != 1:
            raise AssertionError(f"{EDITS} edits[{i}] ({edit['file']}): 'find' occurs {found} times, expected once: "
                                 f"the example changed, update the fixture ({edit['find']!r})")
        path.write_text(text.replace(edit["find"], edit["replace"]))


def make_broken_copy(dest: Path) -> BrokenCopy:
    """examples/byo-plugin copied to ``dest`` (no build folder), with the fixture's faults planted."""
    data = fixture()
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns("build", "__pycache__"))
    apply_edits(dest, data["edits"])
    spec = dest / "hardswish.yaml"
    text = spec.read_text()
    for key, value in data["spec"].items():  # the keys' lines, replaced in place (the comments kept)
        lines = [ln for ln in text.splitlines() if ln.startswith(f"{key}:")]
        if len(lines) != 1:
            raise AssertionError(f"{spec}: expected one top-level '{key}:' line, found {len(lines)}")
        text = text.replace(lines[0], f"{key}: {yaml.safe_dump(value, default_style=chr(34)).strip()}")
    spec.write_text(text)
    expected = data["expected_failures"]
    return BrokenCopy(dest, spec, tuple(expected["conformance"]), tuple(expected["host_check"]))
