"""BMN label generation: hand-computed IoU/IoP maps and a loop reference (spec §3.4-§3.5)."""
import numpy as np
import pytest

from mmloc.models.utils import bmn_boundary_anchors, bmn_labels, bmn_match_map


def _iou(a0, a1, b0, b1):
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    union = (a1 - a0) + (b1 - b0) - inter
    return inter / union if union > 0 else 0.0


def _iop(a0, a1, b0, b1):
    inter = max(0.0, min(a1, b1) - max(a0, b0))
    return inter / (a1 - a0)


def _loop_labels(gt, T):
    iou_map = np.zeros((T, T))
    start = np.zeros(T)
    end = np.zeros(T)
    for d in range(T):
        for s in range(T):
            iou_map[d, s] = max(_iou(s / T, (s + d + 1) / T, g0, g1) for g0, g1 in gt)
    for i in range(T):
        a0, a1 = (i - 0.5) / T, (i + 1.5) / T
        start[i] = max(_iop(a0, a1, g0 - 1.5 / T, g0 + 1.5 / T) for g0, _ in gt)
        end[i] = max(_iop(a0, a1, g1 - 1.5 / T, g1 + 1.5 / T) for _, g1 in gt)
    return iou_map, start, end


def test_match_map_and_anchors():
    mm = bmn_match_map(4).reshape(4, 4, 2)                      # [d, s]
    np.testing.assert_allclose(mm[0, 0], [0, 0.25])
    np.testing.assert_allclose(mm[2, 1], [0.25, 1.0])           # s=1, d=2: [1/4, 4/4]
    np.testing.assert_allclose(mm[3, 3], [0.75, 1.75])          # tmax > 1 for masked cells
    np.testing.assert_allclose(bmn_boundary_anchors(4)[1], [0.125, 0.625])


def test_hand_computed_small_case():
    # T = 4, one GT [0.25, 0.75].
    iou_map, start, end = bmn_labels(np.array([[0.25, 0.75]]), 4)
    assert iou_map.dtype == np.float32 and iou_map.shape == (4, 4)
    assert iou_map[1, 1] == pytest.approx(1.0)                   # [0.25, 0.75] itself
    assert iou_map[0, 1] == pytest.approx(0.5)                   # [0.25, 0.5]
    assert iou_map[2, 0] == pytest.approx(2 / 3)                 # [0, 0.75]
    assert iou_map[0, 0] == 0.0                                  # [0, 0.25] touches only
    assert iou_map[3, 3] == pytest.approx(0.0)                   # [0.75, 1.75]
    # Start region [0.25 - 0.375, 0.25 + 0.375]; anchor i = [(i-0.5)/4, (i+1.5)/4], width 0.5.
    # i=0: [-0.125, 0.375] fully inside -> 1; i=1: [0.125, 0.625] -> 0.5/0.5 = 1;
    # i=2: [0.375, 0.875] -> (0.625 - 0.375)/0.5 = 0.5; i=3: [0.625, 1.125] -> 0.
    np.testing.assert_allclose(start, [1.0, 1.0, 0.5, 0.0], atol=1e-6)
    # End region [0.375, 1.125]: i=0 -> 0, i=1 -> 0.5, i=2 -> 1, i=3 -> 1.
    np.testing.assert_allclose(end, [0.0, 0.5, 1.0, 1.0], atol=1e-6)


@pytest.mark.parametrize('seed', range(4))
def test_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    T = int(rng.integers(5, 20))
    g = int(rng.integers(1, 4))
    s = rng.uniform(0, 0.9, g)
    gt = np.stack([s, np.minimum(s + rng.uniform(0.02, 0.6, g), 1.0)], axis=1)
    got = bmn_labels(gt.astype(np.float32), T)
    ref = _loop_labels(gt.astype(np.float32).astype(np.float64), T)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_empty_gt_gives_zero_targets():
    iou_map, start, end = bmn_labels(np.zeros((0, 2)), 6)
    assert iou_map.shape == (6, 6) and not iou_map.any() and not start.any() and not end.any()
