"""Soft-NMS and post-processing: spec golden values, hand-computed decay, loop reference."""
import math

import numpy as np
import pytest

from bmn_loop_reference import loop_post_processing, loop_soft_nms

from mmloc.models.post_processing.nms import mmaction2_soft_nms
from mmloc.models.utils import post_processing


GOLDEN = np.array([[0, 1, 0.1, 0.1, 0.5], [0, 0.4, 0.1, 0.1, 0.4], [0, 0.95, 0.1, 0.1, 0.6]])


def test_soft_nms_golden_keeps_top_k_plus_one():
    out = mmaction2_soft_nms(GOLDEN, alpha=0.75, low_threshold=0.65, high_threshold=0.9, top_k=1)
    np.testing.assert_allclose(out, [[0, 0.95, 0.6], [0, 0.4, 0.4]], atol=1e-12)


def test_soft_nms_hand_computed_decay():
    # (0, 1) vs the kept (0, 0.95): IoU 0.95 > 0.65 + 0.25 * 0.95 -> 0.5 * exp(-0.95^2 / 0.75).
    out = mmaction2_soft_nms(GOLDEN, 0.75, 0.65, 0.9, top_k=2)
    expected = 0.5 * math.exp(-0.95 ** 2 / 0.75)
    assert expected == pytest.approx(0.15009, abs=1e-5)
    np.testing.assert_allclose(out[:, 2], [0.6, 0.4, expected], atol=1e-12)
    # (0, 0.4) vs (0, 0.95): IoU 0.421 < threshold 0.8875 -> untouched.
    assert out[1, 2] == 0.4


def test_soft_nms_below_threshold_is_identity_sort():
    rows = np.array([[0.0, 0.1, 0.3], [0.5, 0.6, 0.9], [0.2, 0.3, 0.5]])
    out = mmaction2_soft_nms(rows, 0.4, 0.5, 0.9, top_k=10)
    np.testing.assert_array_equal(out, rows[[1, 2, 0]])


@pytest.mark.parametrize('seed', range(12))
def test_soft_nms_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    # Coarse grid of times and scores so IoU ties and equal scores occur.
    tmin = rng.integers(0, 20, n) / 20
    tmax = np.minimum(tmin + rng.integers(1, 12, n) / 20, 1.0)
    score = rng.integers(1, 30, n) / 30 if seed % 2 else rng.uniform(0, 1, n)
    rows = np.stack([tmin, tmax, rng.uniform(size=n), score], axis=1)
    top_k = int(rng.integers(1, 120))
    alpha, low, high = 0.4, float(rng.uniform(0, 0.6)), 0.9
    got = mmaction2_soft_nms(rows, alpha, low, high, top_k)
    ref = loop_soft_nms(rows, alpha, low, high, top_k)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)     # MMAction2's operation order, bit for bit


@pytest.mark.parametrize('seed', range(6))
def test_post_processing_matches_loop_reference(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(0, 200))
    tmin = rng.uniform(-0.05, 0.9, n)
    tmax = tmin + rng.uniform(0.01, 0.3, n)
    rows = np.stack([tmin, tmax, rng.uniform(size=n), rng.uniform(size=n)], axis=1)
    top_k = int(rng.integers(1, 50))
    segments, scores = post_processing(rows, 123.4, 0.4, 0.5, 0.9, top_k)
    ref = loop_post_processing(rows, 123.4, 0.4, 0.5, 0.9, top_k)
    assert segments.shape == (len(ref), 2) and scores.shape == (len(ref),)
    assert len(ref) == min(n, top_k)
    if ref:
        np.testing.assert_allclose(segments, [r[:2] for r in ref], rtol=0, atol=1e-9)
        np.testing.assert_allclose(scores, [r[2] for r in ref], rtol=0, atol=1e-12)
        assert np.all(np.diff(scores) <= 0)
        assert segments.min() >= 0 and segments.max() <= 123.4 + 1e-9


def test_post_processing_single_row_and_clip():
    # One row skips Soft-NMS; times are clipped to [0, 1] then scaled.
    segments, scores = post_processing(np.array([[-0.1, 1.2, 0.7]]), 50.0, 0.4, 0.5, 0.9, 100)
    np.testing.assert_allclose(segments, [[0.0, 50.0]])
    np.testing.assert_allclose(scores, [0.7])
    segments, scores = post_processing(np.zeros((0, 7)), 50.0, 0.4, 0.5, 0.9, 100)
    assert segments.shape == (0, 2) and scores.shape == (0,)


def test_bad_shape_names_function():
    with pytest.raises(ValueError, match='soft_nms'):
        mmaction2_soft_nms(np.zeros((3, 2)), 0.4, 0.5, 0.9, 10)


def test_soft_nms_zero_length_and_negative_threshold_match_loop():
    # Disjoint / zero-length candidates (IoU 0) with a threshold below 0: the decay
    # factor is exp(0) = 1, so skipping non-overlapping candidates changes nothing.
    rng = np.random.default_rng(42)
    tmin = rng.integers(0, 10, 60) / 10
    tmax = tmin + rng.integers(0, 4, 60) / 10
    rows = np.stack([tmin, tmax, rng.uniform(size=60)], axis=1)
    for low in (-0.1, 0.0, 0.3):
        np.testing.assert_array_equal(mmaction2_soft_nms(rows, 0.4, low, 0.9, 30),
                                      loop_soft_nms(rows, 0.4, low, 0.9, 30))
