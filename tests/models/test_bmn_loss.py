"""BMN loss: spec golden values (§3.6, §10), quirks kept for parity, total weighting."""
import math

import pytest
import torch

from mmloc.models.losses import BMNLoss, bmn_tem_loss, pem_cls_loss, pem_reg_loss


def test_pem_reg_golden_degenerate_path():
    # No mid/low cells: both rates are inf, every cell is selected, W = [[2, 3], [2, 3]].
    p = torch.tensor([[0.1, 0.99], [0.5, 0.4]])
    g = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    assert pem_reg_loss(p, g, torch.ones(2, 2)).item() == pytest.approx(0.214045, abs=1e-6)


def test_pem_reg_hand_computed_full_rates():
    # 2 high, 2 mid, 2 low cells: r_m = r_l = 1 -> (U * mask > 0) selects every mid/low cell
    # (U > 0 almost surely), W = 1 on the 6 cells, 0 on the zero-IoU cells.
    torch.manual_seed(0)
    g = torch.tensor([[0.8, 0.9, 0.5, 0.6, 0.1, 0.2, 0.0, 0.0]])
    p = torch.tensor([[0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.3, 0.9]])
    expected = 0.5 * float(((p - g)[:, :6] ** 2).sum()) / 6
    assert pem_reg_loss(p, g, torch.ones_like(g)).item() == pytest.approx(expected, rel=1e-6)


def test_pem_reg_nan_without_positives_is_kept():
    g = torch.zeros(1, 3, 3)
    assert math.isnan(pem_reg_loss(torch.full((1, 3, 3), 0.5), g, torch.ones(3, 3)).item())


def test_pem_cls_golden():
    p = torch.tensor([[0.1, 0.99], [0.95, 0.2]])
    g = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    mask = torch.tensor([[0.1, 0.4], [0.4, 0.1]])
    assert pem_cls_loss(p, g, mask).item() == pytest.approx(1.613605, abs=1e-6)


def test_tem_golden():
    loss = bmn_tem_loss(torch.tensor([[0.9, 0.1]]), torch.tensor([[0.1, 0.9]]),
                        torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]))
    assert loss.item() == pytest.approx(0.2106988, abs=1e-6)


def test_bmn_loss_total_is_weighted_sum_and_masks_gt():
    torch.manual_seed(3)
    B, T = 2, 6
    bm = torch.rand(B, 2, T, T) * 0.98 + 0.01
    start, end = torch.rand(B, T), torch.rand(B, T)
    gt_iou = torch.rand(B, T, T)
    gt_start, gt_end = (torch.rand(B, T) > 0.7).float(), (torch.rand(B, T) > 0.7).float()
    d, s = torch.meshgrid(torch.arange(T), torch.arange(T), indexing='ij')
    bm_mask = (s + d <= T - 1).float()
    torch.manual_seed(7)
    loss, tem, reg, cls = BMNLoss()(bm, start, end, gt_iou, gt_start, gt_end, bm_mask)
    torch.manual_seed(7)
    reg_ref = pem_reg_loss(bm[:, 0], gt_iou * bm_mask, bm_mask)
    cls_ref = pem_cls_loss(bm[:, 1], gt_iou * bm_mask, bm_mask)
    tem_ref = bmn_tem_loss(start, end, gt_start, gt_end)
    torch.testing.assert_close(reg, reg_ref)
    torch.testing.assert_close(cls, cls_ref)
    torch.testing.assert_close(tem, tem_ref)
    torch.testing.assert_close(loss, tem_ref + 10 * reg_ref + cls_ref)


def test_half_precision_inputs_give_float32_loss():
    p = torch.tensor([[0.1, 0.99], [0.95, 0.2]], dtype=torch.bfloat16)
    g = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    out = pem_cls_loss(p, g, torch.ones(2, 2))
    assert out.dtype == torch.float32 and torch.isfinite(out)


def test_pem_reg_nan_guard_on_a_batch_without_high_iou_cells():
    """MMAction2 returns NaN when no cell has IoU > 0.7; the guard makes it 0 with a graph."""
    from mmloc.models.losses.bmn_loss import BMNLoss, pem_reg_loss
    torch.manual_seed(0)
    T = 4
    mask = torch.triu(torch.ones(T, T)).flip(1)  # any mask: the low cells are all 0 here
    gt = torch.full((1, T, T), 0.5) * mask        # only mid cells, none > 0.7
    gt[0, 0, 0] = 0.0
    pred = torch.rand(1, T, T, requires_grad=True)
    # n_high = 0: mid sampling rate 0, low rate 0 -> no cell selected
    assert torch.isnan(pem_reg_loss(pred, gt, mask))
    guarded = pem_reg_loss(pred, gt, mask, zero_when_empty=True)
    assert guarded.item() == 0.0
    guarded.backward()
    assert torch.equal(pred.grad, torch.zeros_like(pred))
    # the module guards by default, and leaves batches with selected cells untouched
    bm = torch.rand(1, 2, T, T)
    start, end = torch.rand(1, T), torch.rand(1, T)
    loss, _, reg, _ = BMNLoss()(bm, start, end, gt, torch.zeros(1, T), torch.zeros(1, T), mask)
    assert reg.item() == 0.0 and torch.isfinite(loss)
    _, _, reg_parity, _ = BMNLoss(nan_guard=False)(bm, start, end, gt, torch.zeros(1, T),
                                                   torch.zeros(1, T), mask)
    assert torch.isnan(reg_parity)
