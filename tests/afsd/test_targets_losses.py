"""Target assignment on the hand-built case of spec §8.2c and each loss on hand values."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmloc.models.afsd.criterion import afsd_losses, contrastive_loss, segment_frame_regions
from mmloc.models.afsd.loss_terms import (boundary_activation_loss, boundary_contrastive_loss,
                                          distance_giou_loss, softmax_focal_loss)
from mmloc.models.afsd.targets import (assign_coarse_targets, assign_refined_targets,
                                       distance_iou, make_priors)

L = 32
PRIORS = make_priors([8, 4, 2, 1])
GT = torch.tensor([[8, 20], [16, 26]], dtype=torch.float32) / L
LABELS = torch.tensor([3, 5])
POSITIVES = {2: (3, (2, 10)), 3: (3, (6, 6)), 4: (5, (2, 8)), 5: (5, (6, 4)), 6: (5, (10, 0)),
             9: (3, (4, 8)), 10: (5, (4, 6)), 12: (3, (0, 12)), 13: (5, (8, 2)),
             14: (5, (0, 10))}


def test_prior_frames():
    frames = (PRIORS * L).tolist()
    assert frames == [2, 6, 10, 14, 18, 22, 26, 30, 4, 12, 20, 28, 8, 24, 16]


def test_coarse_assignment_hand_built():
    cls_t, loc_t = assign_coarse_targets(GT, LABELS, PRIORS, L)
    for k in range(15):
        if k in POSITIVES:
            label, lr = POSITIVES[k]
            assert cls_t[k].item() == label, k
            assert loc_t[k].tolist() == pytest.approx(list(lr), abs=1e-5), k
        else:
            assert cls_t[k].item() == 0, k


def test_no_gt_is_all_background():
    cls_t, loc_t = assign_coarse_targets(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long),
                                         PRIORS, L)
    assert cls_t.tolist() == [0] * 15 and loc_t.abs().sum() == 0


def test_refined_assignment_and_iou_loss():
    cls_t, loc_t = assign_coarse_targets(GT, LABELS, PRIORS, L)
    pred = torch.full((15, 2), 3.0)
    prop_cls_t, prop_loc_t, iou = assign_refined_targets(pred, cls_t, loc_t, 0.5)
    expected_iou = [.3846, .5, .4545, .6, .2308, .5, .6, .2, .4545, .2308]
    assert iou[sorted(POSITIVES)].tolist() == pytest.approx(expected_iou, abs=1e-4)
    assert torch.nonzero(prop_cls_t).flatten().tolist() == [3, 5, 9, 10]
    assert prop_cls_t[[3, 5, 9, 10]].tolist() == [3, 5, 3, 5]
    assert prop_loc_t[3].tolist() == pytest.approx([1, 1])
    assert prop_loc_t[5].tolist() == pytest.approx([1, 1 / 3])
    pos = cls_t > 0
    loss = distance_giou_loss(pred[pos], loc_t[pos]).sum() / pos.sum()
    assert loss.item() == pytest.approx(0.584476, abs=1e-6)


def test_focal_loss_golden():
    loss = softmax_focal_loss(torch.tensor([[2., 0., -1.], [0.5, 1.5, 0.]]), torch.tensor([0, 1]))
    assert loss.tolist() == pytest.approx([0.00103604, 0.04805781], rel=1e-5)
    assert loss.sum().item() == pytest.approx(0.0490939, rel=1e-5)


def test_giou_loss_is_one_minus_iou_by_hand():
    pred = torch.tensor([[2., 4.], [5., 5.]])
    target = torch.tensor([[3., 3.], [1., 9.]])
    # inter = 2+3 = 5, union = 6+6-5 = 7; inter = 1+5 = 6, union = 10+10-6 = 14
    assert distance_giou_loss(pred, target).tolist() == pytest.approx([1 - 5 / 7, 1 - 6 / 14])
    assert distance_iou(pred, target).tolist() == pytest.approx([5 / 7, 6 / 14])


def test_boundary_activation_loss_by_hand():
    feat = torch.tensor([[[0., 2.], [1., 1.]]])  # (B=1, T=2, C=2)
    labels = torch.tensor([[1., 0.]])
    a0 = (0 + math.tanh(2)) / 2
    a1 = math.tanh(1)
    expected = -(math.log(a0) + math.log(1 - a1)) / 2
    assert boundary_activation_loss(feat, labels).item() == pytest.approx(expected, rel=1e-6)


def test_contrastive_loss_by_hand():
    # One map (C = 2): anchor = end half @ seg 0, positive = start half @ seg 1, negative =
    # start half @ seg 2.
    pooled = torch.tensor([[[9., 1., 4.], [3., 8., 8.]]])
    d_pos = abs(3 - 1 + 1e-6)
    d_neg = abs(3 - 4 + 1e-6)
    expected = max(d_pos - d_neg + 1, 0)
    got = boundary_contrastive_loss([pooled], weights=(0.5,))
    assert got.item() == pytest.approx(0.5 * expected, rel=1e-5)


def test_segment_frame_regions_and_contrastive_pooling():
    seg = torch.tensor([[10., 29.], [30., 49.], [5., 8.]])
    # len 20: in 5, out 2 -> [8, 15, 24, 31]; len 4: in 1, out 1 -> [4, 6, 7, 9]
    assert segment_frame_regions(seg).tolist() == [[8, 15, 24, 31], [28, 35, 44, 51],
                                                   [4, 6, 7, 9]]
    maps = [torch.randn(1, 4, 64), torch.randn(1, 6, 16), torch.randn(1, 6, 16)]
    loss = contrastive_loss(maps, seg)
    assert loss.ndim == 0 and torch.isfinite(loss)


def _outputs(num_classes=6):
    torch.manual_seed(0)
    k = 15
    return dict(loc=torch.full((1, k, 2), 3.0), conf=torch.randn(1, k, num_classes),
                prop_loc=torch.zeros(1, k, 2), prop_conf=torch.randn(1, k, num_classes),
                center=torch.randn(1, k, 1), priors=PRIORS,
                start=torch.rand(1, L, 4), end=torch.rand(1, L, 4),
                start_loc_prop=torch.rand(1, 8, 4), end_loc_prop=torch.rand(1, 8, 4),
                start_conf_prop=torch.rand(1, 8, 4), end_conf_prop=torch.rand(1, 8, 4))


def test_afsd_losses_weights_and_normalisation():
    out = _outputs()
    start = torch.zeros(1, L)
    start[0, 5:9] = 1
    end = torch.zeros(1, L)
    losses = afsd_losses(out, [GT], [LABELS], start, end, L, lw=10.0, cw=2.0, piou=0.5)
    cls_t, loc_t = assign_coarse_targets(GT, LABELS, PRIORS, L)
    n, pn = 10, 4
    assert losses['loss_loc'].item() == pytest.approx(10 * 0.584476, abs=1e-5)
    assert losses['loss_cls'].item() == pytest.approx(
        2 * softmax_focal_loss(out['conf'][0], cls_t).sum().item() / n, rel=1e-6)
    prop_cls_t, prop_loc_t, _ = assign_refined_targets(out['loc'][0], cls_t, loc_t, 0.5)
    assert losses['loss_prop_cls'].item() == pytest.approx(
        2 * softmax_focal_loss(out['prop_conf'][0], prop_cls_t).sum().item() / pn, rel=1e-6)
    # prop_loc = 0, so the L1 is |prop_loc_t| over the 4 refined positives
    assert losses['loss_prop_loc'].item() == pytest.approx(
        10 * prop_loc_t[[3, 5, 9, 10]].abs().sum().item() / pn, rel=1e-6)
    # prop_loc = 0: the refined segment is (3, 3) and the quality target is the coarse IoU
    pos = cls_t > 0
    iou = distance_iou(torch.full((10, 2), 3.0), loc_t[pos])
    q = F.binary_cross_entropy_with_logits(out['center'][0, pos, 0], iou, reduction='sum') / n
    assert losses['loss_quality'].item() == pytest.approx(2 * q.item(), rel=1e-6)
    expected_start = (boundary_activation_loss(out['start'], start) + 0.1 * (
        boundary_activation_loss(out['start_loc_prop'], start[:, ::4]) +
        boundary_activation_loss(out['start_conf_prop'], start[:, ::4])))
    assert losses['loss_start'].item() == pytest.approx(expected_start.item(), rel=1e-6)


def test_piou_zero_makes_every_coarse_positive_refined():
    losses0 = afsd_losses(_outputs(), [GT], [LABELS], torch.zeros(1, L), torch.zeros(1, L), L,
                          piou=0.0)
    cls_t, loc_t = assign_coarse_targets(GT, LABELS, PRIORS, L)
    prop_cls_t, prop_loc_t, _ = assign_refined_targets(torch.full((15, 2), 3.0), cls_t, loc_t, 0)
    assert torch.equal(prop_cls_t, cls_t)
    assert losses0['loss_prop_loc'].item() == pytest.approx(
        10 * prop_loc_t[cls_t > 0].abs().sum().item() / 10, rel=1e-6)
