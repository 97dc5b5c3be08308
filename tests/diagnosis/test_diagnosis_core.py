"""DETAD diagnosis: hand-built cases, normalisation by hand, bucket edges, loop reference."""
import numpy as np
import pytest
from detad_loop_reference import diagnose as loop_diagnose

from mmloc.evaluation.diagnosis import (FP_CATEGORIES, assign_buckets, bucketize,
                                        classify_detections, diagnose, discard_low_precision,
                                        filter_ground_truth, flatten_ground_truth,
                                        flatten_predictions, instance_characteristics,
                                        normalized_average_precision, top_gt_overlap)
from mmloc.evaluation.functional import compute_detection_map, match_detections

ONE = [0.5]


def _codes(gt, pr, thr=ONE, num_classes=2, min_tiou=0.1):
    m = match_detections(gt, pr, num_classes, thr)
    g, p = flatten_ground_truth(gt), flatten_predictions(pr)
    top_iou, top_label = top_gt_overlap(g, p)
    codes = classify_detections(m['matched_gt'], top_iou, top_label == p['labels'], thr, min_tiou)
    return [[FP_CATEGORIES[c] for c in row] for row in codes]


# GT: A = [0, 10] class 0, B = [20, 30] class 1 in video 'v'; nothing in video 'w'.
GT = {'v': (np.array([[0.0, 10.0], [20.0, 30.0]]), np.array([0, 1])),
      'w': (np.zeros((0, 2)), np.zeros(0, int))}


@pytest.mark.parametrize('segment, label, expected', [
    ([0.0, 9.0], 0, 'double_detection'),   # tIoU 0.9 with A, A already taken by the TP
    ([20.0, 30.0], 0, 'wrong_label'),      # tIoU 1 with B of class 1
    ([0.0, 4.0], 0, 'localization'),       # tIoU 0.4 with A: 0.1 <= 0.4 < 0.5
    ([20.0, 23.0], 0, 'confusion'),        # tIoU 0.3 with B of another class
    ([40.0, 50.0], 0, 'background'),       # no overlap
    ([0.0, 5.0], 0, 'double_detection'),   # tIoU exactly alpha = 0.5 counts as "high"
    ([0.0, 1.0], 0, 'localization'),       # tIoU exactly 0.1 counts as localization
    ([0.0, 0.99], 0, 'background'),        # tIoU 0.099 < 0.1
    ([25.0, 30.0], 0, 'wrong_label'),      # tIoU exactly 0.5 with B, other label
])
def test_each_error_category(segment, label, expected):
    # the perfect detection of A ranks first and takes A; the probe ranks second
    pr = {'v': (np.array([[0.0, 10.0], segment]), np.array([0.9, 0.8]), np.array([0, label]))}
    assert _codes(GT, pr) == [['true_positive'], [expected]]


def test_video_without_gt_is_background_and_best_gt_of_any_class_decides():
    pr = {'w': (np.array([[0.0, 10.0]]), np.array([0.9]), np.array([0])),
          # tIoU 0.45 with A (same class) but 0.6 with a class-1 GT -> wrong label, not loc.
          'v': (np.array([[4.0, 13.0]]), np.array([0.5]), np.array([0]))}
    gt = {'v': (np.array([[0.0, 10.0], [5.0, 14.0]]), np.array([0, 1]))}
    # IoU([4,13],[0,10]) = 6/13 = 0.4615, IoU([4,13],[5,14]) = 8/10 = 0.8
    assert _codes(gt, pr) == [['background'], ['wrong_label']]
    # per threshold: at alpha 0.9 the 0.8 overlap is a confusion error
    assert _codes(gt, pr, thr=[0.5, 0.9])[1] == ['wrong_label', 'confusion']


def test_normalised_ap_worked_by_hand():
    # ranks: TP, FP, TP; N_c = 2 positives, N = 4 average positives per class.
    # recall .5, .5, 1; precision_N = (.5*4)/(2+0) = 1, 2/(2+1) = 2/3, 4/(4+1) = .8
    # interpolated: [1, .8, .8] -> AP_N = .5 * 1 + .5 * .8 = 0.9
    tp = np.array([[True, False, True]])
    assert normalized_average_precision(tp, 2, 4.0)[0] == pytest.approx(0.9, abs=1e-12)
    # ordinary precision 1, 1/2, 2/3 -> [1, 2/3, 2/3] -> .5 + .5 * 2/3
    assert normalized_average_precision(tp, 2, None)[0] == pytest.approx(5 / 6, abs=1e-12)
    # N = N_c reproduces the ordinary AP
    assert normalized_average_precision(tp, 2, 2.0)[0] == pytest.approx(5 / 6, abs=1e-12)
    assert normalized_average_precision(np.zeros((3, 0), bool), 2, 4.0).tolist() == [0, 0, 0]
    assert np.isnan(normalized_average_precision(tp, 0, 4.0)[0])


def test_normalised_ap_with_own_positives_equals_official_ap():
    rng = np.random.default_rng(3)
    gt, pr = _random_case(rng, n_videos=6, n_classes=3)
    thr = np.array([0.3, 0.5, 0.7])
    official = compute_detection_map(gt, pr, 3, thr)
    m = match_detections(gt, pr, 3, thr)
    for c in range(3):
        tp = (m['matched_gt'][m['class_order'][c]] >= 0).T
        ours = normalized_average_precision(tp, int(official['num_gt'][c]), None)
        np.testing.assert_allclose(ours, official['ap'][c], atol=1e-12)


def test_profile_and_gain_by_hand():
    # class 0 has G = 2 GT: [0, 10] and [20, 30]; ranks: TP, double, TP, background, loc.
    gt = {'v': (np.array([[0.0, 10.0], [20.0, 30.0]]), np.array([0, 0]))}
    pr = {'v': (np.array([[0, 10], [0, 9], [20, 30], [40, 50], [20, 23]], float),
                np.array([0.9, 0.8, 0.7, 0.6, 0.5]), np.zeros(5, int))}
    s = diagnose(gt, pr, 1, {'v': 100.0}, tiou_thresholds=ONE, limit_factor=3)
    fp = s['false_positive']
    # 1G = ranks 1-2 (TP, double), 2G = ranks 3-4 (TP, background), 3G = rank 5 (loc.)
    assert fp['group_sizes'] == [2, 2, 1]
    np.testing.assert_allclose(fp['profile'][0], [0.5, 0.5, 0, 0, 0, 0])
    np.testing.assert_allclose(fp['profile'][1], [0.5, 0, 0, 0, 0, 0.5])
    np.testing.assert_allclose(fp['profile'][2], [0, 0, 0, 1, 0, 0])
    # N = N_c = 2 here. Base: TP, FP, TP, FP, FP -> recall .5 .5 1 1 1, precision 1 .5 2/3 ..
    # -> AP = .5 + .5 * 2/3. Without the double detection: TP, TP, ... -> AP 1 (gain 1/6).
    # Removing the background (rank 4) or loc. error (rank 5) changes nothing: gain 0.
    assert fp['average_mAP_N_top'] == pytest.approx(5 / 6)
    assert fp['average_mAP_N_gain']['double_detection'] == pytest.approx(1 / 6)
    assert fp['average_mAP_N_gain']['background'] == pytest.approx(0.0, abs=1e-15)
    assert fp['average_mAP_N_gain']['localization'] == pytest.approx(0.0, abs=1e-15)
    assert fp['average_mAP_N_gain']['wrong_label'] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize('values, edges, expected', [
    # coverage, ActivityNet edges: first bucket closed [0, .2], then (a, b]
    ([0.0, 0.2, np.nextafter(0.2, 1), 0.8, 1.0, np.nextafter(1.0, 2), -1e-9, np.nan],
     [0, 0.2, 0.4, 0.6, 0.8, 1.0], [0, 0, 1, 3, 4, -1, -1, -1]),
    # length in seconds: 30 is XS, just above is S, inf is XL
    ([30.0, 30.000001, 180.0, 180.5, np.inf], [0, 30, 60, 120, 180, np.inf], [0, 1, 3, 4, 4]),
    # instances per video: 1 -> XS, 2..4 -> S, 5..8 -> M, 9+ -> L
    ([1, 2, 4, 5, 8, 9, 100], [-1, 1, 4, 8, np.inf], [0, 1, 1, 2, 2, 3, 3]),
])
def test_buckets_at_their_edges(values, edges, expected):
    assert assign_buckets(np.array(values, float), np.array(edges, float)).tolist() == expected


def test_characteristics_by_hand():
    seg = np.array([[0.0, 30.0], [10.0, 40.5], [5.0, 6.0]])
    ch = instance_characteristics(seg, np.array([7, 7, 3]), np.array([150.0, 150.0, np.nan]))
    np.testing.assert_allclose(ch['length'], [30.0, 30.5, 1.0])
    np.testing.assert_allclose(ch['coverage'], [0.2, 30.5 / 150, np.nan])
    assert ch['num_instances'].tolist() == [2, 2, 1]
    ids = bucketize(ch, 'anet')
    assert ids['length'][0].tolist() == [0, 1, 0]          # 30 s is XS, 30.5 s is S
    assert ids['coverage'][0].tolist() == [0, 1, -1]       # unknown duration: no bucket
    assert ids['num_instances'][0].tolist() == [1, 1, 0]
    assert ids['num_instances'][1] == ('XS', 'S', 'M', 'L')


def test_filter_drops_what_detad_drops():
    gt = {'a': (np.array([[0, 10], [5, 5], [0, 120], [-10, 95]], float), np.array([0, 0, 1, 1])),
          'b': (np.array([[0, 500]], float), np.array([1]))}
    kept, excluded = filter_ground_truth(gt, {'a': 100.0, 'b': None})
    # [5, 5] has length 0; [0, 120] is longer than the 100 s video; [-10, 95] (105 s) too
    assert kept['a'][0].tolist() == [[0, 10]]
    assert kept['b'][0].tolist() == [[0, 500]]             # duration unknown: kept
    assert excluded == {'non_positive_length': 1, 'coverage_above_1': 2}


def test_discard_low_precision_unmatches_late_true_positives():
    # one class, 1 GT... N = 1: ranks FP, FP, FP, TP -> precision_N at rank 4 = 1/(1+3) = .25
    matched = np.array([[-1], [-1], [-1], [0]])
    order = [np.arange(4)]
    assert discard_low_precision(matched, order, np.array([1]), 1.0, 0.3)[3, 0] == -1
    assert discard_low_precision(matched, order, np.array([1]), 1.0, 0.25)[3, 0] == -1
    assert discard_low_precision(matched, order, np.array([1]), 1.0, 0.2)[3, 0] == 0


def _random_case(rng, n_videos=8, n_classes=3, dur=100.0):
    gt, pr = {}, {}
    for v in range(n_videos):
        g = int(rng.integers(0, 5))
        s = rng.uniform(0, dur * 0.8, g)
        e = s + rng.uniform(1, dur * 0.3, g)
        gt[f'v{v}'] = (np.stack([s, e], 1).reshape(-1, 2), rng.integers(0, n_classes, g))
        # predictions: jittered GT (some relabelled) and random segments
        segs, labs = [], []
        for (a, b), c in zip(gt[f'v{v}'][0], gt[f'v{v}'][1]):
            for _ in range(int(rng.integers(0, 3))):
                j = rng.normal(0, 0.15 * (b - a), 2)
                segs.append([a + j[0], b + j[1]])
                labs.append(c if rng.random() < 0.7 else int(rng.integers(n_classes)))
        for _ in range(int(rng.integers(0, 4))):
            a = rng.uniform(0, dur)
            segs.append([a, a + rng.uniform(1, 30)])
            labs.append(int(rng.integers(n_classes)))
        segs = np.sort(np.asarray(segs, float).reshape(-1, 2), axis=1)
        pr[f'v{v}'] = (segs, rng.random(len(segs)), np.asarray(labs, int))
    pr['extra'] = (np.array([[0.0, 5.0]]), np.array([0.5]), np.array([0]))  # no GT video
    return gt, pr


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
@pytest.mark.parametrize('class_agnostic', [False, True])
def test_matches_loop_reference(seed, class_agnostic):
    rng = np.random.default_rng(seed)
    gt, pr = _random_case(rng, n_videos=10)
    thr = [0.5, 0.7] if seed % 2 else [0.5]
    durations = {v: 100.0 for v in gt}
    s = diagnose(gt, pr, 3, durations, tiou_thresholds=thr, limit_factor=4,
                 class_agnostic=class_agnostic,
                 buckets={'length': (np.array([0, 10, 20, np.inf]), ('S', 'M', 'L'))})
    lab = (lambda c: 0) if class_agnostic else (lambda c: int(c))
    gt_l = [(v, float(a), float(b), lab(c)) for v, (segs, labs) in gt.items()
            for (a, b), c in zip(segs, labs)]
    pr_l = [(v, float(a), float(b), lab(c), float(sc)) for v, (segs, scs, labs) in pr.items()
            for (a, b), sc, c in zip(segs, scs, labs)]
    ref = loop_diagnose(gt_l, pr_l, thr, [0] if class_agnostic else [0, 1, 2], limit_factor=4)
    fp = s['false_positive']
    assert s['avg_positives_per_class'] == pytest.approx(ref['n_avg'])
    assert fp['group_sizes'] == ref['sizes']
    cols = [ref_i for ref_i, c in enumerate(FP_CATEGORIES) if c in fp['categories']]
    np.testing.assert_allclose(np.array(fp['profile'], float),
                               np.array(ref['profile'])[:, cols], atol=1e-12)
    if class_agnostic:   # collapsed categories never occur
        prof = np.nan_to_num(np.array(ref['profile']))
        assert prof[:, [2, 4]].sum() == 0
    assert fp['average_mAP_N_top'] == pytest.approx(ref['base_top'], abs=1e-12)
    for e in fp['categories'][1:]:
        assert fp['average_mAP_N_gain'][e] == pytest.approx(ref['gain'][e], abs=1e-12)
    n_gt = len(gt_l)
    assert s['average_mAP_N'] == pytest.approx(ref['subset_map']([True] * n_gt), abs=1e-12)
    assert s['false_negative']['overall'] == pytest.approx(ref['fn_rate']([True] * n_gt))
    lengths = np.array([b - a for _, a, b, _ in gt_l])
    for name, edges in (('length', [0, 10, 20, np.inf]),):
        ids = assign_buckets(lengths, np.array(edges, float))
        for b in range(3):
            mask = list(ids == b)
            want = ref['subset_map'](mask)
            got = s['sensitivity'][name]['average_mAP_N'][b]
            assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want, abs=1e-12)
            want_fn = ref['fn_rate'](mask)
            got_fn = s['false_negative'][name]['rate'][b]
            assert (np.isnan(want_fn) and np.isnan(got_fn)) or got_fn == pytest.approx(want_fn)


def test_bad_thresholds_and_protocol_raise():
    with pytest.raises(ValueError, match='protocol'):
        diagnose(GT, {}, 2, protocol='coco')
    with pytest.raises(ValueError, match='tiou_thresholds'):
        diagnose(GT, {}, 2, tiou_thresholds=[0.05])


def test_diagnose_files_in_memory_layouts_and_errors():
    from mmloc.evaluation.diagnosis import diagnose_files
    gt = {'version': 'x', 'taxonomy': [], 'database': {
        'a': {'subset': 'validation', 'duration': 50.0, 'annotations': [
            {'segment': [0, 10], 'label': 'jump'}, {'segment': [20, 30], 'label': 'run'},
            {'segment': [35, 40], 'label': 'Ambiguous'}]}}}
    det = {'results': {'a': [{'segment': [0, 10], 'score': 0.9, 'label': 'jump'},
                             {'segment': [35, 40], 'score': 0.8, 'label': 'Ambiguous'}],
                       'b': []}}
    out = diagnose_files(det, gt, subset='validation', tiou_thresholds=[0.5])
    assert out['classes'] == ['jump', 'run']              # Ambiguous left out
    assert out['detection']['num_gt'] == 2
    assert out['detection']['num_predictions'] == 1       # the Ambiguous detection is dropped
    assert out['detection']['average_mAP'] == pytest.approx(0.5)
    # no labels: proposals only
    props = {'results': {'a': [{'segment': [0, 10], 'score': 0.9},
                               {'segment': [20, 31], 'score': 0.5}]}}
    out = diagnose_files(props, gt, tiou_thresholds=[0.5])
    assert out['detection'] is None
    assert out['class_agnostic']['average_mAP'] == pytest.approx(1.0)
    bad = {'results': {'a': [{'segment': [0, 10], 'score': 0.9, 'label': 'swim'}]}}
    with pytest.raises(KeyError, match="video a: label 'swim'"):
        diagnose_files(bad, gt)


def test_given_characteristics_win_and_missing_ones_are_computed():
    # 4.4 - 1.4 = 3.0000000000000004 in float64: bucket S by the segment, XS by DETAD's
    # rounded 3.0; coverage is given for one instance only, the other has a known duration
    gt = {'v': (np.array([[1.4, 4.4], [10.0, 11.0]]), np.array([0, 0]))}
    pr = {'v': (np.array([[1.4, 4.4]]), np.array([0.9]), np.array([0]))}
    chars = {'v': {'length': np.array([3.0, np.nan]), 'coverage': np.array([0.5, np.nan])}}
    s = diagnose(gt, pr, 1, {'v': 100.0}, protocol='thumos14', characteristics=chars)
    assert s['sensitivity']['length']['num_gt'] == [2, 0, 0, 0, 0]       # 3.0 and 1.0: XS
    assert s['sensitivity']['coverage']['num_gt'] == [1, 0, 0, 0, 1]     # 0.01 XS, 0.5 XL
    plain = diagnose(gt, pr, 1, {'v': 100.0}, protocol='thumos14')
    assert plain['sensitivity']['length']['num_gt'] == [1, 1, 0, 0, 0]
    # a given coverage above 1 drops the instance as DETAD does
    over = {'v': {'coverage': np.array([1.5, np.nan])}}
    s = diagnose(gt, pr, 1, None, protocol='thumos14', characteristics=over,
                 warn_unknown_characteristics=False)
    assert s['excluded_gt']['coverage_above_1'] == 1 and s['num_gt'] == 1
