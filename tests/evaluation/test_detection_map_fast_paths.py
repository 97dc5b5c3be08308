"""The fast paths of detection_map against what they replaced: bit-identical results."""
import numpy as np
import pytest

import previous_detection_map as previous
from mmloc.evaluation.functional import ANET_TIOU_THRESHOLDS, THUMOS14_TIOU_THRESHOLDS
from mmloc.evaluation.functional import detection_map as dm


def _case(rng, grid, n_vid=12, n_cls=4):
    gt, preds = {}, {}
    for v in range(n_vid):
        g = int(rng.integers(0, 6))
        segs = np.sort(rng.uniform(0, 30, (g, 2)), axis=1)
        if g >= 2 and rng.random() < 0.3:
            segs[1] = segs[0]
        if g and rng.random() < 0.2:
            segs[0, 1] = segs[0, 0]           # zero-length GT (zero unions possible)
        labs = rng.integers(0, n_cls, g)
        p = int(rng.integers(0, 40))
        psegs = np.sort(rng.uniform(0, 30, (p, 2)), axis=1)
        k = min(g, p)
        psegs[:k] = segs[:k] + rng.normal(0, 1.0, (k, 2)) * (rng.random((k, 1)) < 0.7)
        psegs = np.sort(psegs, axis=1)
        plabs = rng.integers(0, n_cls, p)
        plabs[:k] = labs[:k]
        sc = rng.random(p)
        if grid:
            segs, psegs, sc = np.round(segs), np.round(psegs), np.round(sc * 3) / 3
        if g or rng.random() < 0.5:
            gt[f'v{v}'] = (segs, labs)
        preds[f'v{v}' if rng.random() < 0.9 else f'only{v}'] = (psegs, sc, plabs)
    return gt, preds, n_cls


@pytest.mark.parametrize('seed', range(30))
@pytest.mark.parametrize('score_order', ['official', 'stable'])
def test_matching_and_map_are_bit_identical_to_the_previous_code(seed, score_order):
    rng = np.random.default_rng(seed)
    gt, preds, n_cls = _case(rng, grid=seed % 2 == 1)
    thr = ANET_TIOU_THRESHOLDS if seed % 3 else THUMOS14_TIOU_THRESHOLDS
    new = dm.match_detections(gt, preds, n_cls, thr, score_order)
    old = previous.match_detections(gt, preds, n_cls, thr, score_order)
    for key in ('tp', 'matched_gt', 'pred_scores', 'pred_labels', 'gt_labels'):
        assert np.array_equal(new[key], old[key]), key
    assert all(np.array_equal(a, b) for a, b in zip(new['class_order'], old['class_order']))
    if not any(len(g[1]) for g in gt.values()):
        return
    a = dm.compute_detection_map(gt, preds, n_cls, thr, score_order)
    b = previous.compute_detection_map(gt, preds, n_cls, thr, score_order)
    assert np.array_equal(a['ap'], b['ap'], equal_nan=True)
    assert np.array_equal(a['mAP'], b['mAP']) and a['average_mAP'] == b['average_mAP']


def test_batched_iou_rows_equal_the_per_video_matrix():
    rng = np.random.default_rng(1)
    pred = np.round(np.sort(rng.uniform(0, 10, (200, 2)), axis=1))
    gt = np.round(np.sort(rng.uniform(0, 10, (200, 3, 2)), axis=2))
    gt[:5] = pred[:5, None, :]               # equal segments, zero-length ones included
    pred[:3, 1] = pred[:3, 0]
    gt[:3, :, 1] = gt[:3, :, 0]
    rows = dm._official_iou_rows(pred, gt)
    ref = np.stack([previous._official_iou(pred[i:i + 1], gt[i])[0] for i in range(len(pred))])
    assert np.isinf(ref).any()
    assert np.array_equal(rows, ref)


@pytest.mark.parametrize('max_table', [0, 1 << 26])
def test_group_ranges_equal_searchsorted(max_table):
    rng = np.random.default_rng(2)
    sorted_keys = np.sort(rng.integers(0, 50, 80))
    keys = rng.integers(0, 50, 300)
    lo, size = dm._group_ranges(sorted_keys, keys, 50, max_table)
    ref_lo = np.searchsorted(sorted_keys, keys, side='left')
    assert np.array_equal(lo, ref_lo)
    assert np.array_equal(size, np.searchsorted(sorted_keys, keys, side='right') - ref_lo)


@pytest.mark.parametrize('num_classes', [3, 40000])
def test_class_order_with_small_and_large_label_dtypes(num_classes):
    rng = np.random.default_rng(3)
    labels = rng.integers(0, min(num_classes, 5), 500)
    labels[0] = num_classes - 1
    scores = np.round(rng.random(500) * 4) / 4      # many ties
    for order in ('official', 'stable'):
        new = dm._class_order(scores, labels, num_classes, order)
        old = previous._class_order(scores, labels, num_classes, order)
        assert len(new) == len(old) == num_classes
        assert all(np.array_equal(a, b) for a, b in zip(new, old))


def test_rowwise_interpolated_ap_equals_the_single_curve_function():
    rng = np.random.default_rng(4)
    for n in (1, 2, 7, 8, 9, 130, 1000):
        tp = rng.random((10, n)) < 0.4
        tp_cum = np.cumsum(tp, axis=1).astype(np.float64)
        recall = tp_cum / max(1.0, float(tp.sum(axis=1).max()) + 1)
        precision = tp_cum / np.arange(1, n + 1)
        rows = dm.interpolated_average_precisions(precision, recall)
        ref = [dm.interpolated_average_precision(precision[t], recall[t]) for t in range(10)]
        assert rows.tolist() == ref


def test_flatten_of_arrays_equals_the_per_video_conversion():
    rng = np.random.default_rng(5)
    preds = {f'v{i}': (rng.random((n, 2)), rng.random(n),
                       rng.integers(0, 3, n).astype(np.int32 if i % 2 else np.int64))
             for i, n in enumerate([3, 0, 5, 1])}
    fast = dm._flatten(preds, 3, 'predictions')
    as_lists = {k: tuple(x.tolist() for x in v[:2]) + (list(v[2]),) for k, v in preds.items()}
    assert dm._flatten_arrays(list(as_lists.values()), 3) is None
    with pytest.MonkeyPatch.context() as m:
        m.setattr(dm, '_flatten_arrays', lambda values, n_fields: None)
        slow = dm._flatten(preds, 3, 'predictions')
    assert fast[0] == slow[0]
    for a, b in zip(fast[1], slow[1]):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    for odd in ((np.zeros(2), np.zeros(2), np.zeros(2)),                # 1-D segments
                (np.zeros((2, 3)), np.zeros(2), np.zeros(2)),           # three columns
                (np.zeros((2, 2)), np.zeros((2, 1)), np.zeros(2)),      # a 2-D field
                (np.zeros((2, 2), np.float32), np.zeros(2), np.zeros(2)),
                (np.zeros((2, 2)), np.float64(1.0), np.zeros(2)),       # a 0-d field
                [np.zeros((2, 2)), np.zeros(2)]):                       # two fields
        assert dm._flatten_arrays(list(preds.values()) + [odd], 3) is None
    # shapes that do not fit take the checked path and its messages
    bad = dict(preds, v9=(np.zeros((2, 2)), np.zeros(3), np.zeros(2)))
    with pytest.raises(ValueError, match='video v9: 2 segments but 3 values in field 1'):
        dm._flatten(bad, 3, 'predictions')


def test_matching_without_matched_gt_gives_the_same_tp():
    gt, preds, n_cls = _case(np.random.default_rng(6), grid=True)
    full = dm.match_detections(gt, preds, n_cls)
    lean = dm.match_detections(gt, preds, n_cls, with_matched_gt=False)
    assert lean['matched_gt'] is None
    assert np.array_equal(full['tp'], lean['tp'])
    assert np.array_equal(full['tp'], full['matched_gt'] >= 0)


def test_interpolated_average_precision_rows_equal_the_single_curve():
    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 200):
        tp = rng.random((4, n)) < 0.4
        rank = np.arange(1, n + 1)
        precision = np.cumsum(tp, axis=1) / np.maximum(rank, 1)
        recall = np.cumsum(tp, axis=1) / 9.0
        rows = dm.interpolated_average_precisions(precision, recall)
        for t in range(4):
            assert rows[t] == previous.interpolated_average_precision(precision[t], recall[t])
            assert dm.interpolated_average_precision(precision[t], recall[t]) == rows[t]
