"""The tune rule's choice (tune.py) from planted measurements, and how a choice reaches the engines."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from trt_plugin_bench import dag
from trt_plugin_bench.operators import DEFAULT_PLUGIN_KERNEL, tuned_kernel
from trt_plugin_bench.sweeps import make_spec
from trt_plugin_bench.tune import (
    KIB,
    Band,
    _row,
    bands,
    choice_table,
    engine_winner,
    finalists_of,
    load_kernel_tables,
    rank,
    sample_sizes,
    tune,
)
from typed import DEFAULT, typed

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


@pytest.mark.parametrize("l2_mib", [40, 50, 60, 96, 126])
def test_bands_follow_the_l2_and_every_sample_lies_in_its_band(l2_mib: int) -> None:
    band_list = bands(l2_mib * MIB, [0.0625, 0.25, 1, 4])
    assert [b.hi_bytes for b in band_list[:-1]] == [round(e * l2_mib * MIB / KIB) * KIB for e in (0.0625, 0.25, 1, 4)]
    assert band_list[-1].hi_bytes == -1 and band_list[-1].lo_bytes == 4 * l2_mib * MIB
    for b in band_list:
        sizes = sample_sizes(b, 1 << 40)
        assert len(sizes) == 2 and all(b.contains(s) and s % (64 * KIB) == 0 for s in sizes), (b, sizes)
    # a small GPU memory caps the last band's samples, never placing one outside it
    assert all(band_list[-1].contains(s) for s in sample_sizes(band_list[-1], 5 * l2_mib * MIB))


def test_an_l2_size_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="L2 size of 0"):
        bands(0, [1.0])


def planted(rng: np.random.Generator, band_list: list[Band], best: dict[int, str], kernels: list[str]) -> list:
    """Direct rows where ``best[band]`` is the fastest kernel of each band by 2-9 %, random times otherwise."""
    rows = []
    for b in band_list:
        for nbytes in sample_sizes(b, 1 << 34):
            base = nbytes / 3.0e3 * rng.uniform(1.0, 1.2)
            for k in kernels:
                t = base * (1.0 if k == best[b.index] else rng.uniform(1.02, 1.09))
                rows.append(_row("tensorrt", "gpu", "fp16", b, nbytes, k, "direct", "cold", 50, t, 0.002))
    return rows


def test_the_planted_best_kernel_of_each_band_ranks_first_and_the_table_merges_runs() -> None:
    rng = np.random.default_rng(7)
    kernels = ["vectorized_oneshot", "vectorized_oneshot_x1", "vectorized_oneshot_x1_b128", "vectorized_oneshot_x2_b128"]
    band_list = bands(60 * MIB, [0.0625, 0.25, 1, 4])
    best = {0: kernels[2], 1: kernels[2], 2: kernels[1], 3: kernels[3], 4: kernels[3]}
    rows = planted(rng, band_list, best, kernels)
    winners = {b.index: rank(rows, b.index)[0] for b in band_list}
    assert winners == best
    table = choice_table(band_list, winners)
    assert table == [[band_list[1].hi_bytes // KIB, kernels[2]], [band_list[2].hi_bytes // KIB, kernels[1]],
                     [-1, kernels[3]]]
    kernel, fields = tuned_kernel(table)
    assert kernel == kernels[3] and fields == tuple((kib, k) for kib, k in table)


def test_in_the_engine_the_lowest_worst_ratio_wins_not_the_best_direct_time() -> None:
    b = Band(2, 4 * MIB, 16 * MIB)
    rows = []
    # a: faster on average but 1 % behind native at one size; b: never behind
    for nbytes, ra, rb in ((8 * MIB, 0.95, 0.99), (16 * MIB, 1.01, 0.995)):
        rows.append(_row("tensorrt", "gpu", "fp32", b, nbytes, "a", "engine", "cold", 40, 10.0 * ra, 0.001, ra, 1.0))
        rows.append(_row("tensorrt", "gpu", "fp32", b, nbytes, "b", "engine", "cold", 40, 10.0 * rb, 0.001, rb, 1.0))
    assert engine_winner(rows, 2) == "b"
    assert engine_winner(rows, 3) is None  # no engine rows: the direct ranking decides
    assert math.isclose(rows[0].gbps, 2 * 8 * MIB / 9.5 / 1e3)


def test_reference_backend_writes_an_empty_choice_that_says_why(tmp_path: Path) -> None:
    config = typed(path=DEFAULT)
    choice = tmp_path / "tune" / "choice.json"
    assert tune(config, "reference", None, choice) == []
    written = json.loads(choice.read_text())
    assert written["tables"] == {} and "reference backend" in written["reason"]
    assert load_kernel_tables(choice) == {}


def test_auto_builds_with_the_choice_table_and_an_explicit_kernel_wins() -> None:
    config = typed(path=DEFAULT)
    assert config.plugin_kernel == {"fp32": "auto", "fp16": "auto", "bf16": "auto"}
    table = [[15 * KIB, "vectorized_oneshot_x1_b128"], [-1, "vectorized_oneshot_x2_b128"]]
    spec = make_spec(config, "swish_plugin", "fp16", "sweep", {"fp16": table})
    assert spec.kernel == "vectorized_oneshot_x2_b128" and spec.kernel_table == tuple(map(tuple, table))
    assert spec.kernel_label == "tuned"
    # a dtype the rule could not tune runs the default kernel, without a table
    untuned = make_spec(config, "swish_plugin", "bf16", "sweep", {})
    assert (untuned.kernel, untuned.kernel_table) == (DEFAULT_PLUGIN_KERNEL, ())
    # the naive plugin and TensorRT's own layers never depend on the tune rule
    assert dag.tune_input("swish_plugin", config, "fp16") == ["results/default/tune/choice.json"]
    assert dag.tune_input("swish_plugin_naive", config, "fp16") == []
    assert dag.tune_input("swish_native", config, "fp16") == []
    explicit = typed("plugin_kernel={fp32: vectorized_oneshot_x1, fp16: auto}", path=DEFAULT)
    assert dag.tune_input("swish_plugin", explicit, "fp32") == []
    assert dag.tune_input("swish_plugin", explicit, "fp16") == ["results/default/tune/choice.json"]
    assert not dag.tune_planned(typed("plugin_kernel=vectorized_oneshot_x1", path=DEFAULT),
                                ["swish_plugin__fp32__sweep", "relu__fp32__sweep"])


def test_a_retired_kernel_name_is_refused_by_the_config(tmp_path: Path) -> None:
    import yaml
    from trt_plugin_bench.config import ConfigError, load_config

    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["plugin_kernel"] = "vectorized_oneshot_sized"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match="plugin_kernel"):
        load_config(path)


def test_cuda_architectures_come_from_config_or_the_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert dag.cuda_architectures(typed("compile.cuda_architectures='80;90'"), "tensorrt") == "80;90"
    monkeypatch.setattr(dag, "_nvidia_smi", lambda query: "9.0" if query == "compute_cap" else None)
    assert dag.cuda_architectures(typed("compile.cuda_architectures=auto"), "tensorrt") == "90"
    assert dag.cuda_architectures(typed(), "reference") == ""  # the compiler's default: nothing runs on the CPU
    monkeypatch.setattr(dag, "_nvidia_smi", lambda query: None)
    assert dag.cuda_architectures(typed(), "tensorrt") == ""
    assert dag.gpu_identity("reference").startswith("cpu")


def test_tensorrts_own_shape_is_a_finalist_whatever_its_direct_rank() -> None:
    ranked = ["vectorized_oneshot_x1_b128", "vectorized_oneshot_x1", "vectorized_oneshot", "vectorized_oneshot_x4",
              "vectorized_oneshot_x2_b128"]
    config = typed(path=DEFAULT).tune
    assert finalists_of(ranked, config) == [*ranked[:3], "vectorized_oneshot_x2_b128"]
    assert finalists_of(ranked[:4], config) == ranked[:3]  # not measured: nothing to add
    assert finalists_of(["vectorized_oneshot_x2_b128", *ranked[:2]], config) == ["vectorized_oneshot_x2_b128", *ranked[:2]]


def test_finalist_engines_build_in_worker_processes_with_their_records(tmp_path: Path) -> None:
    """The tune rule builds its plugin engines side by side in spawned workers (build_engines): each
    must come back loadable, with the build record load() checks it against; a failing build must
    raise in the rule, not vanish in a worker."""
    from trt_plugin_bench.backends import get_backend
    from trt_plugin_bench.backends.base import read_build_record
    from trt_plugin_bench.tune import build_engines

    tune_profile = "profiles={tune: {min: [1], opt: [64], max: [4096], shapes: [[64]]}}"
    specs = [make_spec(typed(tune_profile, "compare.extra_shapes={}", f"plugin_kernel={k}"), "swish_plugin", "fp32", "tune")
             for k in ("vectorized_oneshot_x1", "vectorized_oneshot_x2_b128")]
    jobs = [(spec, tmp_path / f"{spec.kernel}.engine", None) for spec in specs]
    build_engines(jobs, {}, workers=2, backend_name="reference")
    backend = get_backend("reference")
    for spec, path, _ in jobs:
        assert read_build_record(path)["spec"]["kernel"] == spec.kernel
        assert backend.load(path, None).spec == spec
    bad = [(specs[0], tmp_path / "missing-dir" / "x.engine", None)]
    with pytest.raises(OSError):
        build_engines(bad, {}, workers=1, backend_name="reference")
