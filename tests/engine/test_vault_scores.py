"""The cosine product over the vault matrix: float16 blocks on several threads give float32's ranking."""

from __future__ import annotations

import numpy as np
import pytest

from purpose_desktop.engine.vault import search


@pytest.mark.parametrize("rows", [1_000, 50_001])
def test_scores_match_float32_whether_split_or_not(rows, monkeypatch):
    import torch  # noqa: F401 — the float16 path is taken when torch is loaded, as in the app

    monkeypatch.setattr(search, "PARALLEL_MIN_ROWS", 10_000)
    monkeypatch.setattr(search.os, "cpu_count", lambda: 4)
    rng = np.random.default_rng(rows)
    vectors = rng.standard_normal((rows, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    matrix = search._Matrix(np.arange(rows), vectors, np.zeros(rows, dtype=bool), ["s"] * rows)
    blocks = search._split_rows(matrix._half, search.PARALLEL_MIN_ROWS)
    assert len(blocks) == (1 if rows < 20_000 else 4)
    assert blocks[0][0] == 0 and blocks[-1][1] == rows
    q = vectors[rows // 3]
    got = matrix.scores(q)
    exact = vectors @ q
    assert got.shape == (rows,) and got.dtype == np.float32
    assert np.abs(got - exact).max() < 2e-3
    assert int(np.argmax(got)) == rows // 3
