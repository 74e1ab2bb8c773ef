"""Checking some whole rows of a large output against float64, for an operator whose spec declares
``independent_rows`` (every output row, its index along input 0's leading axes, all but the last,
depends only on the same row of each input that has those axes and on the inputs and weights that
have none, whole: a reduction over the last axis that scales its own row, an elementwise operator with
weights).

The timers check an output of several inputs, weights or outputs against the float64 reference of
the inputs as filled; above ``timing.verify_max_elements`` elements such an operator's check takes
the first rows, the last rows and a few seeded random rows of every output, and the reference of
just those rows (input 0's rows, every row-aligned input's same rows, the broadcast inputs and
weights whole). This module is the arithmetic of that: which tensors are row-aligned (RowLayout),
which rows (choose_rows), their contiguous runs (row_runs) and the slices (take_rows). Shapes
decide alignment; the spec's declaration (checked at load on a probe: specs.check_functions) says
the rows are independent. Nothing here knows an operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# seeded random middle rows, beside the first and last rows (at most this many, a quarter of the budget)
RANDOM_ROWS = 8


@dataclass(frozen=True)
class RowLayout:
    """The tensors of one inference, split into rows of input 0's leading axes (every axis but the
    last): ``rows`` rows of input 0 of ``x_row`` elements; each other array (inputs 1.., then the
    weights) row-aligned (sliced like input 0) or whole (broadcast along the leading axes); each
    output's elements per row."""

    shape: tuple[int, ...]  # input 0's
    rows: int
    x_row: int
    aligned: tuple[bool, ...]  # per other array: True sliced by rows, False passed whole
    out_shapes: tuple[tuple[int, ...], ...]
    out_rows: tuple[int, ...]  # elements of each output per row

    @property
    def per_row(self) -> int:
        """Output elements of one row, every output together (what a check of one row compares)."""
        return sum(self.out_rows)

    def sliced_shape(self, k: int, last: int) -> tuple[int, ...]:
        """The shape of ``k`` rows of a row-aligned array whose last axis is ``last``: input 0's rank
        kept (the leading axes 1, .., 1, k), so the arrays passed whole broadcast as they did."""
        return (*(1,) * (len(self.shape) - 2), k, last)


def _prod(shape: Sequence[int]) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


def row_layout(shape: Sequence[int], other_shapes: Sequence[Sequence[int]], out_shapes: Sequence[Sequence[int]],
               names: Sequence[str] = (), out_names: Sequence[str] = ()) -> RowLayout | str:
    """How the tensors split into rows when input 0 has ``shape`` (RowLayout), or why they do not
    (a sentence): an input 0 of rank < 2, one row, an array that neither has input 0's leading axes
    nor is broadcast along every one of them (right-aligned, numpy's rule), an output whose shape does
    not start with them. ``names``/``out_names`` name the arrays in that sentence."""
    shape = tuple(int(d) for d in shape)
    if len(shape) < 2:
        return f"input 0 of shape {list(shape)} has no leading axis to split into rows"
    lead = shape[:-1]
    rows = _prod(lead)
    if rows < 2:
        return f"input 0 of shape {list(shape)} is one row"
    aligned = []
    for i, s in enumerate(other_shapes):
        s = tuple(int(d) for d in s)
        name = names[i] if i < len(names) else f"array {i + 1}"
        if len(s) == len(shape) and s[:-1] == lead:
            aligned.append(True)
            continue
        offset = len(shape) - len(s)
        if offset >= 0 and all(d == 1 for k, d in enumerate(s) if offset + k < len(shape) - 1):
            aligned.append(False)
            continue
        return (f"{name} of shape {list(s)} neither has input 0's leading axes {list(lead)} nor is broadcast "
                "along each of them")
    out_rows = []
    for j, o in enumerate(out_shapes):
        o = tuple(int(d) for d in o)
        if o[: len(lead)] != lead:
            name = out_names[j] if j < len(out_names) else f"output {j}"
            return f"{name} of shape {list(o)} does not start with input 0's leading axes {list(lead)}"
        out_rows.append(_prod(o[len(lead):]))
    return RowLayout(shape, rows, shape[-1], tuple(aligned), tuple(tuple(int(d) for d in o) for o in out_shapes),
                     tuple(out_rows))


def choose_rows(rows: int, per_row: int, budget: int, seed: int) -> np.ndarray | None:
    """Which rows a check of at most ``budget`` output elements takes (``per_row`` a row), sorted:
    the first rows, the last rows and up to RANDOM_ROWS seeded random rows between them (a quarter
    of the rows at most). At least the first and the last row, even when one row is over the budget.
    None when the rows that fit are all of them: the caller checks in full."""
    k = max(2, budget // max(per_row, 1))
    if k >= rows:
        return None
    n_random = min(RANDOM_ROWS, k // 4)
    head = (k - n_random + 1) // 2
    tail = k - n_random - head
    chosen = [np.arange(head, dtype=np.int64), np.arange(rows - tail, rows, dtype=np.int64)]
    middle = rows - head - tail
    if n_random and middle > 0:
        rng = np.random.default_rng(seed)
        chosen.append(head + rng.choice(middle, size=min(n_random, middle), replace=False).astype(np.int64))
    return np.unique(np.concatenate(chosen))


def row_runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """The sorted row indices ``rows`` as contiguous runs, (first row, count) each: one copy a run."""
    rows = np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [rows.size]])
    return [(int(rows[s]), int(e - s)) for s, e in zip(starts, ends)]


def take_rows(a: np.ndarray, rows: np.ndarray, layout: RowLayout) -> np.ndarray:
    """Rows ``rows`` of the row-aligned array ``a``, in layout.sliced_shape (input 0's rank)."""
    a = np.asarray(a)
    picked = a.reshape(layout.rows, -1)[np.asarray(rows, dtype=np.int64)]
    return picked.reshape(layout.sliced_shape(len(rows), a.shape[-1]))


def tiled_rows(block: np.ndarray, rows: np.ndarray, layout: RowLayout) -> np.ndarray:
    """Rows ``rows`` of input 0 when it is ``np.resize(block, n)`` (the timers' input 0: the random
    block, repeated), without the full tensor, in layout.sliced_shape."""
    flat = np.asarray(block).reshape(-1)
    row = layout.x_row
    idx = np.asarray(rows, dtype=np.int64)[:, None] * np.int64(row) + np.arange(row, dtype=np.int64)[None, :]
    return flat[idx % flat.size].reshape(layout.sliced_shape(len(rows), row))


def describe_rows(chosen: np.ndarray, layout: RowLayout) -> str:
    """The rows a check took, in words: "rows 0-511, 130560-131071 and 8 more of 131072 (...)"."""
    runs = row_runs(chosen)
    long = [(a, c) for a, c in runs if c > 1]
    singles = len(runs) - len(long)
    parts = [f"{a}-{a + c - 1}" for a, c in long] + ([f"{singles} seeded random row(s)"] if singles else [])
    checked = int(chosen.size) * layout.per_row
    total = layout.rows * layout.per_row
    return (f"rows {', '.join(parts)} of {layout.rows} ({checked} of {total} output elements checked against "
            "float64: independent rows, timing.verify_max_elements)")
