import numpy as np
import pytest

from mmloc.evaluation.functional import average_recall_at_avg_proposals
from loop_reference import loop_ar_an


def _random_case(rng, grid):
    """Random GT/proposals; ``grid`` snaps times so IoUs hit thresholds and scores tie."""
    n_videos = int(rng.integers(1, 9))
    gt, props = {}, {}
    for v in range(n_videos):
        dur = float(rng.uniform(5, 60))
        g = int(rng.integers(0, 4))
        s = rng.uniform(0, dur, size=(g, 2))
        s.sort(axis=1)
        gt[f'vid{v}'] = s
        kind = rng.random()
        if kind < 0.15:
            continue  # GT video without proposals: zero recall
        p = int(rng.integers(0, 40))
        ps = rng.uniform(0, dur, size=(p, 2))
        ps.sort(axis=1)
        sc = rng.random(p)
        if grid:
            ps = np.round(ps * 2) / 2
            sc = np.round(sc * 4) / 4
        props[f'vid{v}'] = np.concatenate([ps, sc[:, None]], axis=1)
    if rng.random() < 0.5:  # proposals of a video that is not in the GT count in the total
        props['extra'] = np.array([[0.0, 1.0, 0.5]] * int(rng.integers(1, 30)))
    if grid:
        gt = {k: np.round(v * 2) / 2 for k, v in gt.items()}
    return gt, props


@pytest.mark.parametrize('seed', range(40))
def test_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    gt, props = _random_case(rng, grid=seed % 2 == 0)
    if not any(len(g) for g in gt.values()) or sum(len(p) for p in props.values()) == 0:
        pytest.skip('degenerate draw')
    max_avg = [100, None, 5, 17.5][seed % 4]
    try:
        ref = loop_ar_an(gt, props, max_avg)
    except ZeroDivisionError:
        with pytest.raises(ValueError):
            average_recall_at_avg_proposals(gt, props, max_avg)
        return
    out = average_recall_at_avg_proposals(gt, props, max_avg)
    np.testing.assert_allclose(out['recall'], ref[0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(out['avg_recall'], ref[1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(out['proposals_per_video'], ref[2], rtol=0, atol=1e-9)
    assert out['auc'] == pytest.approx(ref[3], abs=1e-9)
    assert out['AR@100'] == pytest.approx(ref[0][:, 99].mean(), abs=1e-12)


def test_golden_identical_proposals():
    # spec §6.2 golden row 1 (MMAction2 unit test), max_avg=None, total=4
    gt = {'v1': np.array([[0.0, 1.0], [1.0, 2.0]]), 'v2': np.array([[0.0, 1.0], [1.0, 2.0]])}
    props = {'v1': np.array([[0.0, 1.0, 1.0], [1.0, 2.0, 1.0]]),
             'v2': np.array([[0.0, 1.0, 1.0], [1.0, 2.0, 1.0]])}
    out = average_recall_at_avg_proposals(gt, props, max_avg_proposals=None)
    expected_row = np.array([0.0] * 49 + [0.5] * 50 + [1.0])
    for row in out['recall']:
        np.testing.assert_array_equal(row, expected_row)
    np.testing.assert_allclose(out['proposals_per_video'], np.arange(1, 101) / 50.0, atol=1e-12)
    assert out['auc'] == pytest.approx(25.5, abs=1e-9)


def test_golden_disjoint_proposals():
    gt = {'v1': np.array([[0.0, 1.0], [1.0, 2.0]]), 'v2': np.array([[0.0, 1.0], [1.0, 2.0]])}
    props = {'v1': np.array([[10.0, 11.0, 0.6], [11.0, 12.0, 0.4]]),
             'v2': np.array([[10.0, 11.0, 0.6], [11.0, 12.0, 0.4]])}
    out = average_recall_at_avg_proposals(gt, props, max_avg_proposals=None)
    assert not out['recall'].any()
    assert out['auc'] == 0.0


def test_golden_one_video_hundred_proposals():
    gt = {'v1': np.array([[0.0, 1.0]])}
    props = {'v1': np.array([[i, i + 1, 1.0 / (i + 1)] for i in range(100)], dtype=float)}
    out = average_recall_at_avg_proposals(gt, props, max_avg_proposals=None)
    assert (out['recall'] == 1.0).all()
    np.testing.assert_allclose(out['proposals_per_video'], np.arange(1, 101), atol=1e-12)
    assert out['auc'] == pytest.approx(99.0, abs=1e-9)
    assert out['AR@1'] == out['AR@100'] == 1.0


def test_truncation_quirk_and_float32_option():
    # With 100 proposals per video, point j=28 (AN 29) uses int(100 * 0.29) = 28 proposals.
    gt = {'v': np.array([[0.0, 1.0]])}
    props = np.array([[10.0 + i, 11.0 + i, 1.0 - i / 1000] for i in range(100)])
    props[28] = [0.0, 1.0, 1.0 - 28 / 1000]  # the 29th best proposal is the hit
    out = average_recall_at_avg_proposals(gt, {'v': props})
    assert out['avg_recall'][27] == 0.0 and out['avg_recall'][28] == 0.0
    assert out['avg_recall'][29] == 1.0
    # An IoU of exactly 0.7 matches at 0.7 in float64 but not with MMAction2's float32 IoU.
    gt = {'v': np.array([[0.0, 1.0]])}
    props = {'v': np.array([[0.0, 0.7, 1.0]])}
    thr = np.array([0.7])
    f64 = average_recall_at_avg_proposals(gt, props, 100, thr)
    f32 = average_recall_at_avg_proposals(gt, props, 100, thr, iou_dtype='float32')
    assert f64['AR@1'] == 1.0 and f32['AR@1'] == 0.0


def test_gt_video_without_proposals_and_empty_gt_videos():
    gt = {'a': np.array([[0.0, 1.0]]), 'b': np.array([[0.0, 1.0]]), 'c': np.zeros((0, 2))}
    props = {'a': np.array([[0.0, 1.0, 0.9]]), 'c': np.array([[0.0, 1.0, 0.9]])}
    # V = 2 (c has no GT), total = 2 -> ratio 100; a keeps 1, b has none -> recall 1/2
    out = average_recall_at_avg_proposals(gt, props, max_avg_proposals=1)
    assert out['num_videos'] == 2 and out['num_retrieved'] == 1
    assert out['AR@100'] == 0.5


def test_errors():
    with pytest.raises(ValueError, match='no proposal'):
        average_recall_at_avg_proposals({'a': [[0, 1]]}, {'b': np.zeros((0, 3))})
    with pytest.raises(ValueError, match='retrieved'):
        average_recall_at_avg_proposals({'a': [[0, 1]]}, {'b': [[0, 1, 1.0]]})
    with pytest.raises(ValueError, match=r'video x: proposals must be'):
        average_recall_at_avg_proposals({'x': [[0, 1]]}, {'x': [[0, 1]]})
    with pytest.raises(ValueError, match='iou_dtype'):
        average_recall_at_avg_proposals({'a': [[0, 1]]}, {'a': [[0, 1, 1.0]]}, iou_dtype='f16')


def test_official_style_baseline_agrees_with_loop():
    from loop_reference import official_style_ar_an
    for seed in range(6):
        gt, props = _random_case(np.random.default_rng(seed), grid=True)
        if not any(len(g) for g in gt.values()):
            continue
        try:
            ref = loop_ar_an(gt, props)
        except ZeroDivisionError:
            continue
        base = official_style_ar_an(gt, props)
        np.testing.assert_allclose(base[0], ref[0], atol=1e-12)
        assert base[3] == pytest.approx(ref[3], abs=1e-9)
