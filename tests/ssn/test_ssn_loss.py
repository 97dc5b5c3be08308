"""SSN losses: OHEM completeness hinge (hand-computed, loop reference), CE, regression."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmloc.models.losses.ssn_loss import (SSNLoss, classwise_regression_loss,
                                          completeness_loss, ohem_hinge_loss)


def test_completeness_loss_hand_computed():
    # 2 videos x [1 positive, 2 incomplete]; keep the worst 1 of 2 incompletes per video
    scores = torch.tensor([[0.3, 9.0],     # A pos, label 1: hinge 1 - 0.3 = 0.7
                           [0.0, -0.5],    # A inc, label 2: hinge 1 - 0.5 = 0.5
                           [0.4, 0.0],     # A inc, label 1: hinge 1.4  <- kept
                           [0.0, 1.5],     # B pos, label 2: hinge 0
                           [-2.0, 0.0],    # B inc, label 1: hinge 0
                           [-0.8, 0.0]],   # B inc, label 1: hinge 0.2  <- kept
                          requires_grad=True)
    labels = torch.tensor([1, 2, 1, 2, 1, 1])
    loss = completeness_loss(scores, labels, 1, 2, 0.5)
    # (0.7 + 1.4 + 0 + 0.2) / (2 positives + int(4 * 0.5))
    assert loss.item() == pytest.approx(2.3 / 4)
    loss.backward()
    expected = torch.zeros(6, 2)
    expected[0, 0] = -0.25   # positive with an active hinge: -1 / 4
    expected[2, 0] = 0.25    # kept incompletes: +1 / 4
    expected[5, 0] = 0.25
    torch.testing.assert_close(scores.grad, expected)


def _ohem_loop(pred, labels, sign, ratio, group):
    """MMAction2's OHEMHingeLoss as loops: (value, gradient of the sum)."""
    n, k = pred.shape
    losses = np.array([max(0.0, 1 - sign * pred[i, labels[i] - 1]) for i in range(n)])
    keep = int(group * ratio)
    grad = np.zeros_like(pred)
    total = 0.0
    for g in range(n // group):
        seg = losses[g * group:(g + 1) * group]
        order = np.argsort(-seg, kind='stable')[:keep]
        total += seg[order].sum()
        for j in order:
            i = g * group + j
            if labels[i] >= 1 and losses[i] > 0:
                grad[i, labels[i] - 1] = -sign
    return total, grad


@pytest.mark.parametrize('sign,ratio,group', [(1, 1.0, 1), (-1, 1 / 6, 6), (-1, 0.5, 4)])
def test_ohem_matches_loop_reference(sign, ratio, group):
    rng = np.random.default_rng(1)
    pred = rng.normal(size=(5 * group, 7))
    labels = rng.integers(1, 8, size=5 * group)
    t = torch.tensor(pred, requires_grad=True)
    out = ohem_hinge_loss(t, torch.from_numpy(labels), sign, ratio, group)
    out.backward()
    ref, ref_grad = _ohem_loop(pred, labels, sign, ratio, group)
    assert out.item() == pytest.approx(ref)
    np.testing.assert_allclose(t.grad.numpy(), ref_grad)


def test_ohem_rejects_partial_groups():
    with pytest.raises(ValueError, match='multiple of the group'):
        ohem_hinge_loss(torch.zeros(5, 2), torch.ones(5, dtype=torch.long), -1, 0.5, 2)


def test_regression_loss_picks_label_column():
    bbox = torch.zeros(2, 3, 2)
    bbox[0, 1] = torch.tensor([1.0, 0.0])   # label 2 -> column 1
    bbox[1, 2] = torch.tensor([0.0, 3.0])   # label 3 -> column 2
    loss = classwise_regression_loss(bbox, torch.tensor([2, 3]), torch.zeros(2, 2))
    # smooth-L1 (beta 1): 0.5 * 1^2 and 3 - 0.5 = 2.5; mean over 4 values, times 2
    assert loss.item() == pytest.approx(2 * (0.5 + 2.5) / 4)


def test_ssn_loss_indexing_and_weights():
    torch.manual_seed(0)
    crit = SSNLoss()  # 1 positive, 6 incomplete, 1 background per video
    assert (crit.pos_per_video, crit.inc_per_video) == (1, 6)
    types = torch.tensor([0, 1, 1, 1, 1, 1, 1, 2] * 2)
    labels = torch.tensor([3, 3, 1, 2, 3, 1, 2, 0] * 2)
    act, comp, bbox = torch.randn(16, 5), torch.randn(16, 4), torch.randn(16, 4, 2)
    targets = torch.randn(16, 2)
    losses = crit(act, comp, bbox, types, labels, targets)
    sel = (types == 0) | (types == 2)
    torch.testing.assert_close(losses['loss_activity'], F.cross_entropy(act[sel], labels[sel]))
    cmask = (types == 0) | (types == 1)
    expected_comp = completeness_loss(comp[cmask], labels[cmask], 1, 6, 1 / 6) * 0.1
    torch.testing.assert_close(losses['loss_completeness'], expected_comp)
    pos = types == 0
    expected_reg = classwise_regression_loss(bbox[pos], labels[pos], targets[pos]) * 0.1
    torch.testing.assert_close(losses['loss_reg'], expected_reg)
