import numpy as np
import pytest

from mmloc.evaluation.formats import class_names_from_gt, read_ground_truth, read_results
from mmloc.evaluation.functional import (ANET_TIOU_THRESHOLDS, THUMOS14_TIOU_THRESHOLDS,
                                         compute_detection_map, interpolated_average_precision,
                                         match_detections)
from loop_reference import loop_detection_map, loop_interpolated_ap


def _random_case(rng, grid):
    n_cls = int(rng.integers(1, 5))
    n_vid = int(rng.integers(1, 7))
    gt, preds = {}, {}
    for v in range(n_vid):
        dur = 30.0
        g = int(rng.integers(0, 5))
        segs = np.sort(rng.uniform(0, dur, (g, 2)), axis=1)
        if g >= 2 and rng.random() < 0.3:
            segs[1] = segs[0]  # duplicated GT (it happens in ActivityNet)
        labs = rng.integers(0, n_cls, g)
        p = int(rng.integers(0, 25))
        psegs = np.sort(rng.uniform(0, dur, (p, 2)), axis=1)
        k = min(g, p)
        psegs[:k] = segs[:k] + rng.normal(0, 1.5, (k, 2))
        plabs = rng.integers(0, n_cls, p)
        plabs[:k] = np.where(rng.random(k) < 0.8, labs[:k], plabs[:k])
        sc = rng.random(p)
        if grid:
            segs, psegs, sc = np.round(segs), np.round(psegs), np.round(sc * 3) / 3
        if g or rng.random() < 0.5:
            gt[f'v{v}'] = (segs, labs)
        if p or rng.random() < 0.5:
            preds[f'v{v}'] = (psegs, sc, plabs)
    if rng.random() < 0.3:  # a video with predictions only
        preds['no_gt'] = (np.array([[0.0, 5.0]]), np.array([0.9]), np.array([0]))
    return gt, preds, n_cls


@pytest.mark.parametrize('seed', range(40))
def test_matches_loop_reference(seed):
    rng = np.random.default_rng(100 + seed)
    gt, preds, n_cls = _random_case(rng, grid=seed % 2 == 1)
    if not any(len(g[1]) for g in gt.values()):
        with pytest.raises(ValueError, match='no instance'):
            compute_detection_map(gt, preds, n_cls)
        return
    thr = ANET_TIOU_THRESHOLDS if seed % 3 else THUMOS14_TIOU_THRESHOLDS
    out = compute_detection_map(gt, preds, n_cls, thr)
    ref_ap, ref_map, ref_avg = loop_detection_map(gt, preds, n_cls, thr)
    np.testing.assert_allclose(out['ap'], ref_ap, rtol=0, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(out['mAP'], ref_map, rtol=0, atol=1e-9)
    assert out['average_mAP'] == pytest.approx(ref_avg, abs=1e-9)


def test_many_predictions_per_group_matches_loop():
    # long sequential chains inside one (class, video) group, many GTs per group
    rng = np.random.default_rng(5)
    gt = {'a': (np.sort(rng.uniform(0, 100, (12, 2)), 1), rng.integers(0, 2, 12)),
          'b': (np.sort(rng.uniform(0, 100, (3, 2)), 1), np.array([0, 0, 1]))}
    preds = {}
    for vid, (segs, labs) in gt.items():
        rep = np.repeat(segs, 15, axis=0) + rng.normal(0, 3, (15 * len(segs), 2))
        preds[vid] = (rep, rng.random(len(rep)), np.repeat(labs, 15))
    out = compute_detection_map(gt, preds, 2)
    ref_ap, ref_map, _ = loop_detection_map(gt, preds, 2, ANET_TIOU_THRESHOLDS)
    np.testing.assert_allclose(out['ap'], ref_ap, rtol=0, atol=1e-9)


def test_hand_computed_ap():
    # one class, 2 GTs; predictions (best first): hit GT0, duplicate of GT0, miss, hit GT1
    gt = {'v': (np.array([[0.0, 10.0], [20.0, 30.0]]), np.array([0, 0]))}
    preds = {'v': (np.array([[0.0, 10.0], [0.0, 10.0], [50.0, 60.0], [20.0, 30.0]]),
                   np.array([0.9, 0.8, 0.7, 0.6]), np.array([0, 0, 0, 0]))}
    out = compute_detection_map(gt, preds, 1, [0.5])
    # tp = 1,0,0,1 -> precision 1, .5, 1/3, .5; recall .5,.5,.5,1
    # interpolated: 0.5 * 1 + 0.5 * 0.5 = 0.75
    assert out['ap'][0, 0] == pytest.approx(0.75, abs=1e-12)
    m = match_detections(gt, preds, 1, [0.5])
    assert m['tp'][:, 0].tolist() == [True, False, False, True]
    assert m['matched_gt'][:, 0].tolist() == [0, -1, -1, 1]
    assert interpolated_average_precision(np.array([1.0, 0.5]), np.array([0.5, 0.5])) == 0.5
    assert loop_interpolated_ap([1.0, 0.5], [0.5, 0.5]) == 0.5


def test_zero_union_is_a_match_as_in_the_official_code():
    # official segment_iou: 0/0 = NaN, visited first and never "< t": a true positive
    gt = {'v': (np.array([[5.0, 5.0], [0.0, 10.0]]), np.array([0, 0]))}
    preds = {'v': (np.array([[7.0, 7.0], [0.0, 10.0]]), np.array([0.9, 0.8]), np.array([0, 0]))}
    out = compute_detection_map(gt, preds, 1, [0.5, 0.95])
    np.testing.assert_array_equal(out['ap'], [[1.0, 1.0]])
    ref_ap, _, _ = loop_detection_map(gt, preds, 1, [0.5, 0.95])
    np.testing.assert_array_equal(ref_ap, [[1.0, 1.0]])


def test_classes_without_gt_or_predictions():
    gt = {'v': (np.array([[0.0, 10.0]]), np.array([1]))}
    preds = {'v': (np.array([[0.0, 10.0]]), np.array([0.5]), np.array([0]))}
    out = compute_detection_map(gt, preds, 3, [0.5])
    assert np.isnan(out['ap'][0, 0]) and np.isnan(out['ap'][2, 0])  # no GT: not counted
    assert out['ap'][1, 0] == 0.0  # GT but no prediction of that class
    assert out['mAP'].tolist() == [0.0]
    with pytest.raises(ValueError, match='labels must be in'):
        compute_detection_map(gt, {'v': (np.zeros((1, 2)), np.ones(1), np.array([5]))}, 3)


def test_golden_mmaction2_eval_localization(shared_data):
    """Spec §6.4 golden mAP on MMAction2's eval_localization files."""
    d = shared_data / 'mmaction2-testdata' / 'eval_localization'
    gt = read_ground_truth(d / 'gt.json')
    assert set(gt) == {'bYUmtLBL7W4', 'hDPLy21Yyuk'}
    classes = class_names_from_gt(gt)
    index = {c: i for i, c in enumerate(classes)}
    res = read_results(d / 'result.json', require_label=True)
    gt_arr = {v: (r['segments'], np.array([index[x] for x in r['labels']])) for v, r in gt.items()}
    pr_arr = {v: (r['segments'], r['scores'], np.array([index[x] for x in r['labels']]))
              for v, r in res.items()}
    expected = [0.71428571, 0.71428571, 0.71428571, 0.6875, 0.6875, 0.59722222,
                0.52083333, 0.52083333, 0.52083333, 0.5]
    for order in ('official', 'stable'):
        out = compute_detection_map(gt_arr, pr_arr, len(classes), score_order=order)
        np.testing.assert_allclose(out['mAP'], expected, atol=1e-8)
        assert out['average_mAP'] == pytest.approx(0.6177579365079365, abs=1e-12)
