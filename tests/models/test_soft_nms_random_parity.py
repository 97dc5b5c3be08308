"""Randomized bit-identity of MMAction2's Soft-NMS against the frozen loop and MMAction2's loop.

``mmaction2_soft_nms`` (and ``soft_nms`` under it) must give the bits of the frozen per-round
loop (tests/models/postproc_loop_reference.py) and of the transcription of MMAction2's own loop
(tests/models/bmn_loop_reference.py) on: many seeds of trained-like and uniform rows, score
ties (rounded and duplicated rows), IoUs exactly at the threshold (grid-aligned segments with
``low == high``), fewer candidates than ``top_k``, one or no candidate, all-zero scores.
No timing here.
"""
import os.path as osp
import sys

import numpy as np
import pytest

sys.path.insert(0, osp.dirname(__file__))
import postproc_loop_reference as ref  # noqa: E402
from bmn_loop_reference import loop_soft_nms  # noqa: E402

from mmloc.models.post_processing.nms import mmaction2_soft_nms, soft_nms  # noqa: E402

#: (alpha, low, high): BMN's config, BSN PEM's, a threshold exactly hit by grid IoUs (1/2),
#: every overlap (0, 0).
PARAMS = [(0.4, 0.5, 0.9), (0.75, 0.65, 0.9), (0.4, 0.5, 0.5), (0.4, 0.0, 0.0)]


def _rows(rng, n, dtype, grid, tie_mode):
    """(n, 4) rows ``[tmin, tmax, other, score]``; ``grid``: None or snippets per video."""
    s = rng.uniform(0, 1, n)
    e = np.minimum(1, s + rng.uniform(0, 0.5, n))
    if grid:
        s, e = np.floor(s * grid) / grid, np.ceil(e * grid) / grid
    score = rng.random(n)
    if tie_mode == 'rounded':
        score = np.round(score, 1)
    elif tie_mode == 'duplicates' and n > 2:
        dup = rng.integers(0, n, n // 3)
        s[dup[1:]], e[dup[1:]], score[dup[1:]] = s[dup[0]], e[dup[0]], score[dup[0]]
    elif tie_mode == 'zeros':
        score[:] = 0
    return np.column_stack([s, e, rng.random(n), score]).astype(dtype)


def _check(rows, dtype, top_k):
    for alpha, low, high in PARAMS:
        got = mmaction2_soft_nms(rows, alpha, low, high, top_k, dtype=dtype)
        frozen = ref.reference_mmaction2_soft_nms(rows, alpha, low, high, top_k, dtype=dtype)
        assert got.dtype == frozen.dtype and np.array_equal(got, frozen), (alpha, low, high)
        if len(rows):
            mm = loop_soft_nms(rows, alpha, low, high, top_k, dtype)
            assert np.array_equal(got, mm), (alpha, low, high)


@pytest.mark.parametrize('seed', range(60))
def test_random_rows_bit_identical(seed):
    rng = np.random.default_rng(1000 + seed)
    dtype = (np.float64, np.float32)[seed % 2]
    n = [0, 1, 2, 5, 30, 120][seed % 6]
    grid = [None, 4, 100][seed % 3]
    tie_mode = ['none', 'rounded', 'duplicates', 'zeros', 'none'][seed % 5]
    top_k = [100, 3, 0, 7][seed % 4]          # 100 > n: fewer candidates than top_k
    _check(_rows(rng, n, dtype, grid, tie_mode), dtype, top_k)


def test_exact_threshold_ious():
    # quarter-grid segments: IoUs of 1/2 are exact, and low == high == 0.5 makes them ties
    s = np.array([0, 0, 0.25, 0.5, 0, 0.25, 0.5, 0])
    e = np.array([0.5, 0.25, 0.75, 1.0, 1.0, 0.5, 0.75, 0.75])
    for score in (np.linspace(0.9, 0.2, 8), np.full(8, 0.5), np.arange(8) / 8):
        rows = np.column_stack([s, e, score])
        for dtype in (np.float64, np.float32):
            _check(rows.astype(dtype), dtype, 100)


def test_empty_and_generic_soft_nms():
    keep, kept = soft_nms(np.zeros((0, 2)), np.zeros(0), iou_threshold=0.5)
    assert keep.shape == (0, ) and kept.shape == (0, ) and keep.dtype == np.int64
    rng = np.random.default_rng(5)
    for seed in range(20):
        seg = np.sort(rng.random((50, 2)), axis=1)
        score = rng.random(50)
        if seed % 2:
            score = np.round(score, 1)
        for thr in (None, 0.0, 0.3, rng.uniform(0, 0.9, 50)):
            for kw in (dict(), dict(top_k=60), dict(top_k=4), dict(union='mmaction2'),
                       dict(selected_length_floor=0.05), dict(sigma=0.02)):
                got = soft_nms(seg, score, iou_threshold=thr, **kw)
                want = ref.reference_soft_nms(seg, score, iou_threshold=thr, **kw)
                assert all(np.array_equal(x, y) and x.dtype == y.dtype
                           for x, y in zip(got, want)), kw
