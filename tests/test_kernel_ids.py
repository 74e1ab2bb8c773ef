"""A spec's kernel ids file (variants.ids: ops/swish/kernel_ids.csv) against a compiled library's
own kernel names (operators.check_kernel_ids), with fake libraries compiled here: the right names,
one name swapped, a different count, a retired id still named."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import pytest
from trt_plugin_bench.core.operators import OPERATORS, KernelIdMismatch
from trt_plugin_bench.core.operators import check_kernel_ids as check_ids

VARIANTS = OPERATORS["swish_plugin"].variants
KERNEL_IDS, RETIRED_KERNEL_IDS, KERNEL_ID_COUNT = VARIANTS.table()


def check_kernel_ids(lib: ctypes.CDLL, path: Path) -> None:
    check_ids(lib, path, VARIANTS)

CC = next((c for c in ("cc", "gcc", "clang") if shutil.which(c)), None)


def fake_library(tmp_path: Path, tag: str, names: list[str | None]) -> tuple[ctypes.CDLL, Path]:
    """A shared library exporting tpbSwishKernelCount/tpbSwishKernelName over ``names`` (None: an id
    the library refuses, a null name)."""
    if CC is None:
        pytest.skip("no C compiler (cc, gcc, clang) to build the fake kernel library")
    table = ", ".join("0" if n is None else f'"{n}"' for n in names)
    source = tmp_path / f"{tag}.c"
    source.write_text(
        f"static const char* const kNames[] = {{{table}}};\n"
        f"int tpbSwishKernelCount(void) {{ return {len(names)}; }}\n"
        f"const char* tpbSwishKernelName(int k) {{ return k >= 0 && k < {len(names)} ? kNames[k] : 0; }}\n"
    )
    lib = tmp_path / f"lib{tag}.so"
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(lib), str(source)], check=True, capture_output=True)
    return ctypes.CDLL(str(lib)), lib


def in_id_order() -> list[str | None]:
    names = {kernel_id: name for name, kernel_id in KERNEL_IDS.items()}
    return [names.get(kernel_id) for kernel_id in range(KERNEL_ID_COUNT)]


def test_matching_names_pass(tmp_path: Path) -> None:
    check_kernel_ids(*fake_library(tmp_path, "right", in_id_order()))


def test_a_swapped_name_is_named(tmp_path: Path) -> None:
    names = in_id_order()
    names[3], names[4] = names[4], names[3]
    lib, path = fake_library(tmp_path, "swapped", names)
    with pytest.raises(KernelIdMismatch) as err:
        check_kernel_ids(lib, path)
    text = str(err.value)
    assert "kernel id 3" in text and repr(in_id_order()[3]) in text and repr(names[3]) in text
    assert str(path) in text and "kernel_ids.csv" in text


def test_a_different_count_is_refused(tmp_path: Path) -> None:
    for tag, names in (("more", [*in_id_order(), "vectorized_new"]), ("fewer", in_id_order()[:-1])):
        lib, path = fake_library(tmp_path, tag, names)
        with pytest.raises(KernelIdMismatch, match=f"has {len(names)} kernel ids but .*kernel_ids.csv expects {KERNEL_ID_COUNT}"):
            check_kernel_ids(lib, path)


def test_a_retired_id_the_library_still_names_is_refused(tmp_path: Path) -> None:
    for kernel_id, name in RETIRED_KERNEL_IDS.items():
        names = in_id_order()
        assert names[kernel_id] is None
        names[kernel_id] = name  # a library from before the retirement
        lib, path = fake_library(tmp_path, f"old{kernel_id}", names)
        with pytest.raises(KernelIdMismatch, match=f"kernel id {kernel_id} is None in .*kernel_ids.csv"):
            check_kernel_ids(lib, path)


def test_a_library_without_the_names_is_refused(tmp_path: Path) -> None:
    if CC is None:
        pytest.skip("no C compiler (cc, gcc, clang) to build the fake kernel library")
    source = tmp_path / "old.c"
    source.write_text("int tpbAbiVersion(void) { return 1; }\n")
    lib = tmp_path / "libold.so"
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(lib), str(source)], check=True, capture_output=True)
    with pytest.raises(KernelIdMismatch, match="does not export tpbSwishKernelCount"):
        check_kernel_ids(ctypes.CDLL(str(lib)), lib)


# The row norms' variants come from one X-macro table each (plugin/<op>Plugin/<op>Kernels.def): the
# enum, the names the library exports and the dispatch. A library compiled here from that very table
# (the C preprocessor expanding it as the kernel source does) must match the spec's kernel_ids.csv; a
# table with two names swapped must not.
ROOT = Path(__file__).resolve().parents[1]
ROW_NORMS = [("layer_norm_plugin", "layerNormPlugin/layerNormKernels.def", "TPB_LAYER_NORM_KERNEL", "LayerNorm"),
             ("residual_rms_norm_plugin", "residualRmsNormPlugin/residualRmsNormKernels.def",
              "TPB_RESIDUAL_RMS_NORM_KERNEL", "ResidualRmsNorm")]


def table_library(tmp_path: Path, tag: str, table: Path, macro: str, symbol: str) -> tuple[ctypes.CDLL, Path]:
    if CC is None:
        pytest.skip("no C compiler (cc, gcc, clang) to build the fake kernel library")
    source = tmp_path / f"{tag}.c"
    source.write_text(
        f"#define {macro}(id, enumerator, name, shape) #name,\n"
        f"static const char* const kNames[] = {{\n#include \"{table}\"\n}};\n"
        f"#undef {macro}\n"
        "#define COUNT ((int)(sizeof(kNames) / sizeof(kNames[0])))\n"
        f"int tpb{symbol}KernelCount(void) {{ return COUNT; }}\n"
        f"const char* tpb{symbol}KernelName(int k) {{ return k >= 0 && k < COUNT ? kNames[k] : 0; }}\n")
    lib = tmp_path / f"lib{tag}.so"
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(lib), str(source)], check=True, capture_output=True)
    return ctypes.CDLL(str(lib)), lib


@pytest.mark.parametrize("op,table,macro,symbol", ROW_NORMS)
def test_a_row_norms_names_come_from_its_one_table(tmp_path: Path, op: str, table: str, macro: str, symbol: str) -> None:
    variants = OPERATORS[op].variants
    assert variants.count_symbol == f"tpb{symbol}KernelCount" and variants.name_symbol == f"tpb{symbol}KernelName"
    path = ROOT / "plugin" / table
    check_ids(*table_library(tmp_path, "table", path, macro, symbol), variants)
    lines = path.read_text().splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith(macro)]
    lines[rows[1]], lines[rows[2]] = lines[rows[2]], lines[rows[1]]  # two names swapped
    swapped = tmp_path / "swapped.def"
    swapped.write_text("\n".join(lines) + "\n")
    with pytest.raises(KernelIdMismatch, match="kernel id 1 is"):
        check_ids(*table_library(tmp_path, "swapped", swapped, macro, symbol), variants)
