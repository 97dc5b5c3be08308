"""The one NMS module (mmloc.models.post_processing.nms).

* Bit-identity: every former call site (BMN/BSN ``post_processing``, SSN ``ssn_detections``,
  AFSD ``merge_video_detections`` / ``fuse_detection_results``) gives exactly the output it gave
  with the frozen pre-redesign NMS (tests/models/nms_legacy_reference.py) swapped back in, on
  seeded inputs with ties, zero-length segments, empty and single-candidate cases.
* ActionFormer / TriDet: every golden value of actionformer-spec §9.6, and the vectorised
  kernel against a one-candidate-at-a-time transcription of its description (§6.2).
* Invariants of the shared pieces.
"""
import math

import numpy as np
import pytest

import nms_legacy_reference as legacy
from bmn_loop_reference import loop_soft_nms

from mmloc.models import bmn_candidates
from mmloc.models.afsd import inference as afsd_inference
from mmloc.models.post_processing import nms
from mmloc.models.post_processing.nms import (actionformer_hard_nms, actionformer_soft_nms,
                                              afsd_soft_nms, batched_nms, hard_nms,
                                              mmaction2_soft_nms, segment_voting, soft_nms)
from mmloc.models.ssn import postprocess as ssn_postprocess
from mmloc.models.utils import proposal_utils
from mmloc.structures.segment_ops import pairwise_temporal_iou
from mmloc.testing.actionformer_reference import kernel_soft_nms_loop

SIZES = (0, 1, 2, 3, 5, 17, 60, 250)


# ----------------------------------------------------------------------------- fixtures
def _segments(rng, n, grid=20, max_len=8):
    """Coarse grid: equal segments, shared edges and zero-length ones occur."""
    start = rng.integers(0, grid, n) / grid
    return np.stack([start, start + rng.integers(0, max_len, n) / grid], axis=1)


def _scores(rng, n, ties):
    return rng.integers(1, 6, n) / 6 if ties else rng.uniform(0.001, 1, n)


def _cases(seeds=range(4)):
    return [(n, seed, ties) for n in SIZES for seed in seeds for ties in (False, True)]


def _same(new, old):
    """np.array_equal with the same dtype and shape, recursively (tuples, dicts, lists)."""
    if isinstance(new, dict):
        return new.keys() == old.keys() and all(_same(new[k], old[k]) for k in new)
    if isinstance(new, (tuple, list)) and not (new and isinstance(new[0], str)):
        return len(new) == len(old) and all(_same(a, b) for a, b in zip(new, old))
    if isinstance(new, list):
        return new == old
    new, old = np.asarray(new), np.asarray(old)
    return new.dtype == old.dtype and new.shape == old.shape and np.array_equal(new, old)


def _new_and_legacy(monkeypatch, module, name, legacy_fn, call):
    """``call()`` as it is, and with ``module.name`` swapped back to the frozen legacy NMS."""
    new = call()
    with monkeypatch.context() as patch:
        patch.setattr(module, name, legacy_fn)
        old = call()
    return new, old


# ----------------------------------------------------------------------------- MMAction2 (BMN, PEM)
# MMAction2's Soft-NMS rounds its union as ((len_m - inter) + end) - start, and runs PEM's
# float32 rows in float32; the frozen pre-redesign loop rounded len_m + len - inter in float64,
# which differs at exact-threshold IoUs of grid-aligned proposals (issue #18 item 11). The
# reference here is the per-pair transcription of MMAction2's loop (bmn_loop_reference).
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
@pytest.mark.parametrize('n,seed,ties', _cases())
def test_mmaction2_soft_nms_bit_identical_to_mmaction2_loop(n, seed, ties, dtype):
    rng = np.random.default_rng([1, n, seed, ties])
    rows = np.column_stack([_segments(rng, n), rng.uniform(size=n), _scores(rng, n, ties)])
    rows = rows.astype(dtype)
    low = float(rng.uniform(-0.1, 0.7))
    for top_k in (0, 1, 3, 100, 1000):
        for alpha in (0.4, 0.75):
            got = mmaction2_soft_nms(rows, alpha, low, 0.9, top_k, dtype=dtype)
            ref = loop_soft_nms(rows, alpha, low, 0.9, top_k, dtype)
            assert _same(got, ref), (top_k, alpha)


def test_mmaction2_soft_nms_at_an_exact_threshold_iou():
    # kept [0, 0.25] (threshold 0.5 + 0.4 * 0.25 = 0.6), other [0.09, 0.24]: IoU 0.15 / 0.25.
    # MMAction2's union (0.25 - 0.15) + 0.24 - 0.09 gives 0.6000000000000001 > 0.6: decayed.
    # The sum 0.25 + 0.15 - 0.15 gives 0.6 exactly: not decayed.
    t = np.arange(101) / 100
    rows = np.array([[t[0], t[25], 0.9], [t[9], t[24], 0.8]])
    out = mmaction2_soft_nms(rows, 0.4, 0.5, 0.9, 10)
    iou = 0.15 / ((0.25 - 0.15) + t[24] - t[9])
    assert iou > 0.6
    np.testing.assert_array_equal(out[:, 2], [0.9, 0.8 * np.exp(-np.square(iou) / 0.4)])
    np.testing.assert_array_equal(out, loop_soft_nms(rows, 0.4, 0.5, 0.9, 10))
    _, kept = soft_nms(rows[:, :2], rows[:, 2], sigma=0.4, iou_threshold=0.6, union='sum')
    np.testing.assert_array_equal(kept, [0.9, 0.8])      # the other rounding: no decay


def _mmaction2_loop_as_patch(rows, alpha, low, high, top_k, dtype=np.float64):
    return loop_soft_nms(rows, alpha, low, high, top_k, dtype)


def _assert_post_processing_follows_mmaction2(monkeypatch, rows, *params, **kw):
    new, old = _new_and_legacy(monkeypatch, proposal_utils, 'mmaction2_soft_nms',
                               _mmaction2_loop_as_patch,
                               lambda: proposal_utils.post_processing(rows, *params, **kw))
    assert _same(new, old)


@pytest.mark.parametrize('T,seed', [(t, s) for t in (4, 16, 40, 100) for s in range(3)])
def test_post_processing_of_bmn_rows_bit_identical(monkeypatch, T, seed):
    rng = np.random.default_rng([2, T, seed])
    sharp = 1.0 + 3.0 * seed
    # Quantised maps so that fused scores tie; (K, 7) rows as BMN.predict builds them.
    start, end = (np.round(rng.uniform(size=(2, T)) ** sharp, 1)).astype(np.float32)
    cls, reg = np.round(rng.uniform(size=(2, T, T)), 1).astype(np.float32)
    rows = bmn_candidates(start, end, cls, reg)
    assert rows.shape[1] == 7
    for top_k in (1, 20, 100):
        _assert_post_processing_follows_mmaction2(monkeypatch, rows, 87.5, 0.4, 0.5, 0.9, top_k)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('n,seed,ties', _cases(range(2)))
def test_post_processing_of_pem_rows_bit_identical(monkeypatch, n, seed, ties, dtype):
    rng = np.random.default_rng([3, n, seed, ties])
    # (N, 6) float32 rows as PEM.predict builds them: tmin, tmax, tmin/tmax scores, p, product.
    cols = [*_segments(rng, n).T, *rng.uniform(size=(2, n)), _scores(rng, n, ties)]
    cols = [np.asarray(c, np.float32) for c in cols]
    rows = np.stack(cols + [cols[4] * cols[2] * cols[3]], axis=1)
    for top_k in (1, 10, 100):
        _assert_post_processing_follows_mmaction2(monkeypatch, rows, 33.3, 0.75, 0.65, 0.9,
                                                  top_k, dtype=dtype)


def test_pem_post_processing_runs_in_float32_by_default():
    from mmloc.registry import MODELS
    pem = MODELS.build(dict(type='PEM'))
    assert pem.soft_nms_dtype == np.float32
    assert MODELS.build(dict(type='PEM', soft_nms_dtype='float64')).soft_nms_dtype == np.float64
    with pytest.raises(ValueError, match='soft_nms_dtype'):
        MODELS.build(dict(type='PEM', soft_nms_dtype='half'))


def test_mmaction2_tiny_alpha_keeps_each_row_once():
    # exp(-IoU²/alpha) underflows to 0. The legacy loop went on decaying rows it had already
    # kept (score -inf): -inf * 0 = NaN, which argmax then picked again. Only live rows decay.
    rows = np.array([[0.1, 0.5, 0.9], [0.1, 0.5, 0.8], [0.6, 0.9, 0.3], [0.1, 0.5, 0.7]])
    out = mmaction2_soft_nms(rows, 1e-4, 0.5, 0.9, 10)
    np.testing.assert_array_equal(out, [[0.1, 0.5, 0.9], [0.6, 0.9, 0.3], [0.1, 0.5, 0.0],
                                        [0.1, 0.5, 0.0]])


# ----------------------------------------------------------------------------- SSN
@pytest.mark.parametrize('n,seed,ties', _cases())
def test_hard_nms_bit_identical_to_legacy(n, seed, ties):
    rng = np.random.default_rng([4, n, seed, ties])
    segs, scores = _segments(rng, n), _scores(rng, n, ties)
    for thr in (0.0, 0.2, 0.5, 1.0):
        assert _same(hard_nms(segs, scores, thr),
                     legacy.legacy_ssn_hard_suppression(segs, scores, thr)), thr


def _legacy_hard_nms_keeping_zero_length(segs, scores, thr, zero_length_overlap=False):
    assert not zero_length_overlap
    return legacy.legacy_ssn_hard_suppression(segs, scores, thr)


@pytest.mark.parametrize('p,seed,ties', [(p, s, t) for p in (0, 1, 2, 9, 40, 150)
                                         for s in range(3) for t in (False, True)])
def test_ssn_detections_bit_identical(monkeypatch, p, seed, ties):
    rng = np.random.default_rng([5, p, seed, ties])
    k = int(rng.integers(1, 6))
    props = _segments(rng, p)
    # Integer logits give equal combined scores across proposals (ties).
    if ties:
        activity = rng.integers(-2, 3, (p, k + 1)).astype(float)
        completeness = rng.integers(-1, 2, (p, k)).astype(float)
    else:
        activity, completeness = rng.normal(size=(p, k + 1)), rng.normal(size=(p, k))
    bbox = rng.normal(scale=0.1, size=(p, k, 2))
    for top_k, iou, reg in ((0, 0.2, True), (2000, 0.2, True), (7, 0.4, False), (30, 0.0, True)):
        # the legacy code kept zero-length detections (zero_length='keep'); the other
        # policies are tested in tests/ssn/test_ssn_eval.py
        new, old = _new_and_legacy(
            monkeypatch, ssn_postprocess, 'hard_nms', _legacy_hard_nms_keeping_zero_length,
            lambda: ssn_postprocess.ssn_detections(props, activity, completeness, bbox, top_k,
                                                   iou, reg, zero_length='keep'))
        assert _same(new, old), (top_k, iou, reg)


# ----------------------------------------------------------------------------- AFSD
@pytest.mark.parametrize('n,seed,ties', _cases())
def test_afsd_soft_nms_bit_identical_to_legacy(n, seed, ties):
    rng = np.random.default_rng([6, n, seed, ties])
    dets = np.column_stack([_segments(rng, n) * 30, _scores(rng, n, ties)])
    for top_k, thr, sigma in ((5000, 0.001, 0.5), (3, 0.001, 0.5), (5000, 0.2, 0.85),
                              (0, 0.0, 0.5)):
        got = afsd_soft_nms(dets, sigma, top_k, thr)
        assert _same(got, legacy.legacy_afsd_soft_suppression(dets, sigma, top_k, thr))


def _afsd_windows(rng, n_windows, num_classes, ties):
    windows = []
    for _ in range(n_windows):
        d = int(rng.integers(0, 40))
        windows.append((_segments(rng, d, grid=10) * 25.6, _scores(rng, d, ties),
                        rng.integers(1, num_classes, d)))
    return windows


@pytest.mark.parametrize('seed,ties', [(s, t) for s in range(8) for t in (False, True)])
def test_merge_video_detections_bit_identical(monkeypatch, seed, ties):
    rng = np.random.default_rng([7, seed, ties])
    num_classes = int(rng.integers(2, 6))
    windows = _afsd_windows(rng, int(rng.integers(0, 5)), num_classes, ties)
    for kwargs in (dict(), dict(sigma=0.85, top_k=4, score_threshold=0.05)):
        new, old = _new_and_legacy(
            monkeypatch, afsd_inference, 'afsd_soft_nms', legacy.legacy_afsd_soft_suppression,
            lambda: afsd_inference.merge_video_detections(windows, num_classes, **kwargs))
        assert _same(new, old)


@pytest.mark.parametrize('seed,ties', [(s, t) for s in range(6) for t in (False, True)])
def test_fuse_detection_results_bit_identical(monkeypatch, seed, ties):
    rng = np.random.default_rng([8, seed, ties])
    names = np.array(['A', 'B', 'C'])

    def stream(videos):
        out = {}
        for vid in videos:
            d = int(rng.integers(0, 25))
            out[vid] = dict(segments=_segments(rng, d, grid=10) * 40, scores=_scores(rng, d, ties),
                            labels=names[rng.integers(0, 3, d)].tolist())
        return out

    rgb, flow = stream(['v1', 'v2', 'v3']), stream(['v2', 'v4'])
    new, old = _new_and_legacy(
        monkeypatch, afsd_inference, 'afsd_soft_nms', legacy.legacy_afsd_soft_suppression,
        lambda: afsd_inference.fuse_detection_results(rgb, flow))
    assert _same(new, old)


# ----------------------------------------------------------------------------- shared Soft-NMS loop
@pytest.mark.parametrize('n,seed,ties', _cases(range(2)))
def test_soft_nms_invariants(n, seed, ties):
    rng = np.random.default_rng([9, n, seed, ties])
    segs, scores = _segments(rng, n), _scores(rng, n, ties)
    for kwargs in (dict(), dict(method='linear', iou_threshold=0.3), dict(min_score=0.2),
                   dict(top_k=4, drop_last=True, selected_length_floor=1e-5)):
        keep, kept = soft_nms(segs, scores, **kwargs)
        assert keep.dtype == np.int64 and kept.dtype == np.float64
        assert len(np.unique(keep)) == len(keep) <= kwargs.get('top_k', n)
        assert np.all(np.diff(kept) <= 0)                # kept in non-increasing score order
        assert np.all(kept <= scores[keep])              # decay only lowers scores
        if 'min_score' in kwargs:
            assert np.all(kept >= kwargs['min_score'])
        if n and not kwargs:
            assert kept[0] == scores.max() and len(keep) == n


def test_soft_nms_linear_and_threshold_by_hand():
    segs = np.array([[0., 10.], [0., 5.], [20., 30.], [1., 11.]])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    keep, kept = soft_nms(segs, scores, method='linear', iou_threshold=0.6)
    # [0,5] has IoU 0.5 with [0,10] (<= 0.6: untouched); [1,11] has 9/11 -> 0.6 * (1 - 9/11),
    # then IoU 4/11 with [0,5] (untouched)
    np.testing.assert_array_equal(keep, [0, 1, 2, 3])
    np.testing.assert_allclose(kept, [0.9, 0.8, 0.7, 0.6 * (2 / 11)], rtol=1e-15)
    keep, kept = soft_nms(segs, scores, sigma=0.5, min_score=0.3)
    # Gaussian without threshold: [0,5] -> 0.8 e^{-0.5}, [1,11] -> 0.6 e^{-(9/11)²/0.5} < 0.3
    np.testing.assert_array_equal(keep, [0, 2, 1])
    np.testing.assert_allclose(kept, [0.9, 0.7, 0.8 * math.exp(-0.5)])
    with pytest.raises(ValueError, match='method'):
        soft_nms(segs, scores, method='hard')
    with pytest.raises(ValueError, match=r'soft_nms: expected segments of shape \(N, 2\)'):
        soft_nms(np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match='hard_nms: 4 segments but 3 scores'):
        hard_nms(segs, scores[:3], 0.5)
    assert soft_nms(np.zeros((0, 2)), np.zeros(0))[0].shape == (0,)


def test_hard_nms_keeps_pairwise_iou_at_most_threshold():
    rng = np.random.default_rng(10)
    for n in (1, 30, 300):
        segs, scores = _segments(rng, n), _scores(rng, n, True)
        for thr in (0.0, 0.3, 0.7):
            keep = hard_nms(segs, scores, thr)
            iou = pairwise_temporal_iou(segs[keep], segs[keep])
            assert np.all(iou[~np.eye(len(keep), dtype=bool)] <= thr)
            assert np.all(np.diff(scores[keep]) <= 0)
            # every dropped candidate overlaps a better kept one by more than thr
            dropped = np.setdiff1d(np.arange(n), keep)
            assert np.all((pairwise_temporal_iou(segs[dropped], segs[keep]) > thr).any(1))


# ----------------------------------------------------------------------------- ActionFormer §9.6
FIVE = np.array([[0, 10], [1, 11], [20, 30], [25, 35], [2, 9]], np.float32)
FIVE_SCORES = np.array([.9, .8, .7, .6, .5], np.float32)
FIVE_LABELS = np.array([0, 0, 1, 1, 0])
SOFT = [[0, 10, 0.9], [20, 30, 0.7], [25, 35, 0.48044249], [1, 11, 0.20971914],
        [2, 9, 0.07042926]]


def test_golden_soft_nms_one_group():
    inds, dets = actionformer_soft_nms(FIVE, FIVE_SCORES, sigma=0.5, min_score=0.001)
    np.testing.assert_array_equal(inds, [0, 2, 3, 1, 4])
    assert dets.dtype == np.float32
    np.testing.assert_allclose(dets, SOFT, rtol=1e-6, atol=1e-7)
    # the hand check of the spec
    assert dets[3, 2] == pytest.approx(0.8 * math.exp(-(9 / 11) ** 2 / 0.5), rel=1e-6)
    assert dets[4, 2] == pytest.approx(0.5 * math.exp(-0.98) ** 2, rel=1e-6)
    assert dets[2, 2] == pytest.approx(0.6 * math.exp(-2 / 9), rel=1e-6)


def test_golden_soft_nms_min_score_and_first_selection_never_filtered():
    inds, dets = actionformer_soft_nms(FIVE, FIVE_SCORES, sigma=0.5, min_score=0.3)
    np.testing.assert_array_equal(inds, [0, 2, 3])
    np.testing.assert_allclose(dets, SOFT[:3], rtol=1e-6)
    inds, dets = actionformer_soft_nms([[0, 1], [5, 6]], [5e-4, 4e-4], sigma=0.5, min_score=1e-3)
    np.testing.assert_array_equal(inds, [0])
    np.testing.assert_allclose(dets, [[0, 1, 5e-4]])


def test_golden_hard_nms_float32_tie():
    np.testing.assert_array_equal(actionformer_hard_nms(FIVE, FIVE_SCORES, 0.5), [0, 2, 3])
    # [2,9] vs [0,10]: real IoU exactly 0.7, float32 with +1e-6 areas just below: it survives
    np.testing.assert_array_equal(actionformer_hard_nms(FIVE, FIVE_SCORES, 0.7), [0, 2, 3, 4])
    np.testing.assert_array_equal(actionformer_hard_nms(FIVE, FIVE_SCORES, 0.7, min_score=0.55),
                                  [0, 2, 3])


def test_golden_batched_nms_multiclass():
    segs, scores, labels = batched_nms(FIVE, FIVE_SCORES, FIVE_LABELS, iou_threshold=0.1,
                                       min_score=0.001, max_seg_num=3, multiclass=True, sigma=0.5)
    np.testing.assert_allclose(segs, [[0, 10], [20, 30], [25, 35]])
    np.testing.assert_allclose(scores, [0.9, 0.7, 0.48044249], rtol=1e-6)
    np.testing.assert_array_equal(labels, [0, 1, 1])


def test_golden_batched_nms_class_agnostic_voting():
    kw = dict(iou_threshold=0.1, min_score=0.001, max_seg_num=100, multiclass=False, sigma=0.5,
              voting_thresh=0.75)
    segs, scores, labels = batched_nms(FIVE, FIVE_SCORES, FIVE_LABELS, **kw)
    np.testing.assert_allclose(segs, [[0.42105, 10.42105], [20, 30], [25, 35],
                                      [0.52071, 10.52071], [2, 9]], atol=1e-5)
    assert segs[0, 0] == pytest.approx(0.65455 / 1.55455, abs=1e-5)   # the spec's first row
    np.testing.assert_allclose(scores, np.array(SOFT)[:, 2], rtol=1e-6)
    np.testing.assert_array_equal(labels, [0, 1, 1, 0, 0])
    td, _, _ = batched_nms(FIVE, FIVE_SCORES, FIVE_LABELS, voting_weight='score', **kw)
    np.testing.assert_allclose(td, [[0.47059, 10.47059], [20, 30], [25, 35],
                                    [0.47059, 10.47059], [2, 9]], atol=1e-5)
    plain, _, _ = batched_nms(FIVE, FIVE_SCORES, FIVE_LABELS, **dict(kw, voting_thresh=0))
    np.testing.assert_array_equal(plain, np.array(SOFT, np.float32)[:, :2])


def test_batched_nms_empty_and_hard_path():
    segs, scores, labels = batched_nms(np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.int64),
                                       0.5, 0.001, 100)
    assert segs.shape == (0, 2) and scores.shape == (0,) and labels.dtype == np.int64
    segs, scores, labels = batched_nms(FIVE, FIVE_SCORES, FIVE_LABELS, 0.5, 0.001, 100,
                                       use_soft_nms=False)
    np.testing.assert_array_equal(segs, FIVE[[0, 2, 3]])   # [1,11], [2,9] lose to [0,10]
    np.testing.assert_array_equal(labels, [0, 1, 1])


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match='segment_voting'):
        segment_voting(FIVE, FIVE, FIVE_SCORES, 0.75, weight='iou')
    with pytest.raises(ValueError, match='actionformer_soft_nms: method'):
        actionformer_soft_nms(FIVE, FIVE_SCORES, method='hard')


# ----------------------------------------------------------------------------- ActionFormer kernel
@pytest.mark.parametrize('n,seed,ties', [(n, s, t) for n in (0, 1, 2, 6, 25, 70)
                                         for s in range(3) for t in (False, True)])
def test_actionformer_soft_nms_matches_the_kernel_loop(n, seed, ties):
    rng = np.random.default_rng([11, n, seed, ties])
    segs = (_segments(rng, n, grid=10) * 12).astype(np.float32)   # short: +1e-6 matters
    scores = _scores(rng, n, ties).astype(np.float32)
    for sigma, floor in ((0.5, 0.001), (0.4, 0.2), (0.75, 0.0)):
        inds, dets = actionformer_soft_nms(segs, scores, sigma, floor)
        ref_inds, ref_dets = kernel_soft_nms_loop(segs, scores, sigma, floor)
        assert _same(inds, ref_inds) and _same(dets, ref_dets), (sigma, floor)
        assert np.all(np.diff(dets[:, 2]) <= 0)
        assert np.all(dets[1:, 2] >= np.float32(floor))
        for top_k in (0, 1, 5):                   # stopping early keeps the first outputs
            early = actionformer_soft_nms(segs, scores, sigma, floor, top_k=top_k)
            assert _same(early, (inds[:top_k], dets[:top_k]))


def test_actionformer_linear_decays_only_at_or_above_threshold():
    segs = np.array([[0, 10], [0, 5], [1, 11]], np.float32)
    inds, dets = actionformer_soft_nms(segs, [0.9, 0.8, 0.7], method='linear', iou_threshold=0.5,
                                       min_score=0.0)
    # [0,5] has IoU 0.5 - 1e-7 with [0,10] in float32 (areas +1e-6): untouched
    np.testing.assert_array_equal(inds, [0, 1, 2])
    assert dets[1, 2] == np.float32(0.8)
    assert dets[2, 2] == pytest.approx(0.7 * (2 / 11), rel=1e-5)   # 1 - ovr, ovr = 9/11


def test_actionformer_hard_nms_keeps_float32_overlap_below_threshold():
    rng = np.random.default_rng(12)
    segs = (_segments(rng, 200, grid=10) * 12).astype(np.float32)
    scores = _scores(rng, 200, True).astype(np.float32)
    keep = actionformer_hard_nms(segs, scores, 0.5)
    area = nms._areas_f32(segs[keep])
    ovr = nms._iou_f32(segs[keep], area, segs[keep], area)
    assert np.all(ovr[~np.eye(len(keep), dtype=bool)] < np.float32(0.5))
    assert np.all(np.diff(scores[keep]) <= 0)


def test_post_processing_package_is_importable_by_path():
    import mmloc.models
    import mmloc.models.post_processing.nms as module
    assert mmloc.models.post_processing.nms is module
    from mmloc.models.utils import post_processing
    assert callable(post_processing)
