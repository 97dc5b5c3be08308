"""The 2-D head over the valid triangle only (mmloc.models.layers.bm_region)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmloc.models.layers import (band_plan, banded_conv_stack, bm_valid_mask,
                                 check_banded_stack, needed_columns, stair_cells, stair_grids)
from mmloc.models.localizers.bmn import BMN


def _dilated_reference(T, kernel_sizes):
    """Needed cells per layer by brute force: dilate the valid triangle cell by cell."""
    need = bm_valid_mask(T).astype(bool)
    per_layer = [need]
    for k in reversed(kernel_sizes[1:]):
        r = k // 2
        prev = np.zeros_like(need)
        for d, s in zip(*np.nonzero(need)):
            prev[max(0, d - r):d + r + 1, max(0, s - r):s + r + 1] = True
        need = prev
        per_layer.append(need)
    return per_layer[::-1]


@pytest.mark.parametrize('T,kernels', [(100, [1, 3, 3, 1]), (17, [3, 5, 1]), (9, [5, 5]),
                                       (1, [3]), (12, [1, 1])])
def test_needed_columns_match_brute_force_dilation(T, kernels):
    for need, ref in zip(needed_columns(T, kernels), _dilated_reference(T, kernels)):
        # the needed cells of every row are a prefix [0, n[d])
        prefix = np.arange(T)[None, :] < need[:, None]
        assert np.array_equal(prefix, ref)


def _stack(kernels, channels, seed):
    torch.manual_seed(seed)
    layers = []
    for i, k in enumerate(kernels):
        layers += [nn.Conv2d(channels[i], channels[i + 1], k, padding=k // 2),
                   nn.ReLU() if i + 1 < len(kernels) else nn.Sigmoid()]
    return nn.Sequential(*layers)


@pytest.mark.parametrize('T,kernels,bands', [(30, [1, 3, 3, 1], 4), (30, [1, 3, 3, 1], 30),
                                             (23, [3, 5, 1], 3), (8, [3], 1), (16, [1, 3], 16)])
def test_banded_stack_equals_full_stack_on_valid_cells_and_gradients(T, kernels, bands):
    channels = [6] + [5] * (len(kernels) - 1) + [2]
    stack = _stack(kernels, channels, seed=T)
    valid = torch.from_numpy(bm_valid_mask(T))
    x = torch.randn(2, channels[0], T, T, dtype=torch.float64)
    stack = stack.double()
    plan = band_plan(T, check_banded_stack(stack), bands)

    x_full = x.clone().requires_grad_()
    full = stack(x_full)
    weight = torch.rand_like(full)
    (full * valid * weight).sum().backward()
    grads_full = [p.grad.clone() for p in stack.parameters()]
    stack.zero_grad()

    x_band = x.clone().requires_grad_()
    banded = banded_conv_stack(x_band, stack, plan)
    (banded * weight).sum().backward()          # no mask: outside cells are 0 already

    torch.testing.assert_close(banded * valid, full * valid, rtol=1e-12, atol=1e-12)
    assert torch.count_nonzero(banded * (1 - valid)) == 0
    torch.testing.assert_close(x_band.grad, x_full.grad, rtol=1e-10, atol=1e-12)
    for p, g in zip(stack.parameters(), grads_full):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('T,kernels,bands', [(30, [1, 3, 3, 1], 4), (21, [1, 5], 21),
                                             (12, [1], 3), (9, [1, 1, 3], 2)])
def test_banded_stack_from_stair_rows_equals_the_full_stack(T, kernels, bands):
    # rows of only the stair cells (what BMN's fused BM layer computes in training)
    channels = [6] + [5] * (len(kernels) - 1) + [2]
    stack = _stack(kernels, channels, seed=T).double()
    valid = torch.from_numpy(bm_valid_mask(T))
    plan = band_plan(T, check_banded_stack(stack), bands)
    cells = torch.from_numpy(stair_cells(plan))
    x = torch.randn(2, channels[0], T, T, dtype=torch.float64)
    # the stair covers the valid triangle and its halo, and nothing a valid output ignores
    assert set(cells.tolist()) >= set(np.flatnonzero(bm_valid_mask(T)).tolist())

    x_full = x.clone().requires_grad_()
    full = stack(x_full)
    weight = torch.rand_like(full)
    (full * valid * weight).sum().backward()
    grads_full = [p.grad.clone() for p in stack.parameters()]
    stack.zero_grad()

    rows = x.flatten(2).transpose(1, 2)[:, cells].clone().requires_grad_()   # (B, M, C)
    banded = banded_conv_stack(rows, stack, plan, stair_grids(plan))
    (banded * weight).sum().backward()
    torch.testing.assert_close(banded * valid, full * valid, rtol=1e-12, atol=1e-12)
    assert torch.count_nonzero(banded * (1 - valid)) == 0
    grad_rows_full = x_full.grad.flatten(2).transpose(1, 2)[:, cells]
    torch.testing.assert_close(rows.grad, grad_rows_full, rtol=1e-10, atol=1e-12)
    for p, g in zip(stack.parameters(), grads_full):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-12)


def test_banded_stack_reads_the_halo_of_invalid_cells():
    # a 3x3 conv's valid output next to the diagonal reads invalid input cells: zeroing
    # them must change the result (the plan keeps them), in the full and the banded path
    T = 10
    stack = _stack([3], [1, 1], seed=0).double()
    x = torch.rand(1, 1, T, T, dtype=torch.float64) + 1
    plan = band_plan(T, [3], 3)
    valid = torch.from_numpy(bm_valid_mask(T)).double()
    with torch.no_grad():
        a = banded_conv_stack(x, stack, plan)
        b = banded_conv_stack(x * valid, stack, plan)
    assert not torch.equal(a, b)
    torch.testing.assert_close(a, stack(x) * valid, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('bad', [nn.Conv2d(2, 2, 2, padding=1), nn.Conv2d(2, 2, 3, padding=0),
                                 nn.Conv2d(2, 2, 3, padding=1, stride=2),
                                 nn.Conv2d(2, 2, 3, padding=2, dilation=2),
                                 nn.Conv2d(2, 2, 3, padding=1, groups=2),
                                 nn.Conv2d(2, 2, 3, padding=1, padding_mode='reflect'),
                                 nn.BatchNorm2d(2)])
def test_check_banded_stack_refuses_what_it_cannot_band(bad):
    with pytest.raises(ValueError, match='banded_conv_stack'):
        check_banded_stack(nn.Sequential(bad, nn.ReLU()))


def test_banded_stack_refuses_rows_without_grids_or_a_1x1_first_conv():
    plan = band_plan(8, [3, 1], 2)
    stack = _stack([3, 1], [2, 2, 1], seed=0)
    with pytest.raises(ValueError, match='rows input'):
        banded_conv_stack(torch.zeros(1, 5, 2), stack, plan, stair_grids(plan))
    with pytest.raises(ValueError, match='plan is for kernels'):
        banded_conv_stack(torch.zeros(1, 2, 8, 8), _stack([1, 1], [2, 2, 1], seed=0), plan)


def test_band_plan_refuses_bad_band_counts():
    with pytest.raises(ValueError, match='num_bands'):
        band_plan(10, [3], 0)
    with pytest.raises(ValueError, match='num_bands'):
        band_plan(10, [3], 11)


def _small_bmn(**kwargs):
    torch.manual_seed(0)
    return BMN(temporal_dim=16, boundary_ratio=0.5, num_samples=4, num_samples_per_bin=2,
               feat_dim=8, soft_nms_alpha=0.4, soft_nms_low_threshold=0.5,
               soft_nms_high_threshold=0.9, post_process_top_k=10, hidden_dim_1d=8,
               hidden_dim_2d=6, hidden_dim_3d=10, **kwargs).double()


def test_bmn_valid_region_gives_the_full_map_loss_and_gradients():
    full, valid = _small_bmn(bm_region='full'), _small_bmn(bm_region='valid', bm_region_bands=5)
    valid.load_state_dict(full.state_dict())
    x = torch.randn(3, 8, 16, dtype=torch.float64)
    gt = [torch.tensor([[0.1, 0.4], [0.5, 0.9]]), torch.tensor([[0.0, 1.0]]),
          torch.tensor([[0.2, 0.3]])]
    results = []
    for model in (full, valid):
        torch.manual_seed(1)                      # the PEM loss samples cells at random
        losses = model(x, _samples(gt), mode='loss')
        model.zero_grad()
        losses['loss'].backward()
        results.append((losses, [p.grad.clone() for p in model.parameters()]))
    (loss_f, grad_f), (loss_v, grad_v) = results
    for key in ('loss', 'tem', 'pem_reg', 'pem_cls'):
        torch.testing.assert_close(loss_v[key], loss_f[key], rtol=1e-12, atol=1e-12)
    for a, b in zip(grad_v, grad_f):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def _samples(gt):
    from mmengine.structures import InstanceData

    from mmloc.structures import LocalizationDataSample
    out = []
    for g in gt:
        s = LocalizationDataSample()
        s.gt_instances = InstanceData(segments=g)
        out.append(s)
    return out


def _loss_and_grads(model, x, gt):
    torch.manual_seed(1)
    losses = model(x, _samples(gt), mode='loss')
    model.zero_grad()
    losses['loss'].backward()
    return losses['loss'].detach(), [p.grad.clone() for p in model.parameters()]


def test_bmn_auto_region_is_the_full_map_outside_the_loss():
    auto, full = _small_bmn(), _small_bmn(bm_region='full')
    auto.load_state_dict(full.state_dict())
    x = torch.randn(2, 8, 16, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(auto(x)[0], full(x)[0])    # MMAction2's whole map at inference
    assert torch.equal(auto(x)[0], full(x)[0])        # and in tensor mode with autograd


def test_bmn_auto_region_uses_the_full_map_when_pem_sampling_reads_invalid_cells():
    # a batch whose ground truth has more high-IoU cells than mid ones: MMAction2's
    # unclamped rate > 1 selects every cell, masked-out ones included, so their
    # predictions are in the loss; 'auto' must fall back to the full map there
    auto, full = _small_bmn(), _small_bmn(bm_region='full')
    valid = _small_bmn(bm_region='valid')
    auto.load_state_dict(full.state_dict())
    valid.load_state_dict(full.state_dict())
    gt_map = torch.zeros(1, 16, 16, dtype=torch.float64)
    gt_map[0, 3, 2] = 0.95                      # one high cell, no mid cell: rate inf
    for m in (auto, full, valid):
        m.generate_labels = lambda gt, device, g=gt_map: (g, torch.zeros(1, 16),
                                                          torch.zeros(1, 16))
    assert auto.loss_module.reads_invalid_cells(gt_map, auto.bm_mask)
    x = torch.randn(1, 8, 16, dtype=torch.float64)
    gt = [torch.tensor([[0.1, 0.2]])]
    loss_a, grads_a = _loss_and_grads(auto, x, gt)
    loss_f, grads_f = _loss_and_grads(full, x, gt)
    loss_v, _ = _loss_and_grads(valid, x, gt)
    torch.testing.assert_close(loss_a, loss_f, rtol=0, atol=0)
    for a, b in zip(grads_a, grads_f):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.isclose(loss_v, loss_f)     # the valid-only map would change the loss


def test_pem_reg_reads_invalid_cells_matches_the_sampling():
    from mmloc.models.losses.bmn_loss import pem_reg_loss, pem_reg_reads_invalid_cells
    mask = torch.from_numpy(bm_valid_mask(12))
    rng = np.random.default_rng(0)
    for trial in range(40):
        gt = torch.from_numpy(rng.uniform(0, 1, (2, 12, 12)) ** rng.uniform(0.2, 5)).float()
        gt = gt * (torch.from_numpy(rng.uniform(0, 1, (2, 12, 12))) < 0.5) * mask
        # does a prediction outside the mask change the loss? (same sampling seed)
        pred = torch.rand(2, 12, 12)
        moved = pred + (1 - mask) * 0.5
        torch.manual_seed(trial)
        a = pem_reg_loss(pred, gt, mask, zero_when_empty=True)
        torch.manual_seed(trial)
        b = pem_reg_loss(moved, gt, mask, zero_when_empty=True)
        assert pem_reg_reads_invalid_cells(gt, mask) == bool(a != b)


def test_bmn_refuses_an_unknown_region():
    with pytest.raises(ValueError, match='bm_region'):
        _small_bmn(bm_region='triangle')


@pytest.mark.parametrize('T,bands,r', [(20, 4, 1), (30, 7, 1), (16, 16, 1), (24, 5, 2)])
def test_rewindow_equals_merge_then_split_bit_for_bit(T, bands, r):
    """Windows copied straight from the bands are the windows of the merged map, and
    their backward gives the same band gradients, bit for bit."""
    from mmloc.models.layers.bm_region import _BandMerge, _BandSplit, _band_windows, _Rewindow
    kernels = (3, 2 * r + 1, 1)
    plan = band_plan(T, kernels, bands)
    edges = plan.edges
    windows = _band_windows(T, edges, plan.widths[1], r)
    torch.manual_seed(T + bands)
    parts = [torch.randn(2, 3, b - a, w, requires_grad=True)
             for a, b, w in zip(edges[:-1], edges[1:], plan.widths[0])]
    weights = None

    def run(fn):
        out = fn()
        nonlocal weights
        if weights is None:
            weights = [torch.randn_like(o) for o in out]
        for p in parts:
            p.grad = None
        sum((o * w).sum() for o, w in zip(out, weights)).backward()
        return [o.detach() for o in out], [p.grad.clone() for p in parts]

    ref_out, ref_grad = run(lambda: _BandSplit.apply(_BandMerge.apply(T, *parts), windows))
    out, grad = run(lambda: _Rewindow.apply(edges, windows, *parts))
    for a, b in zip(out + grad, ref_out + ref_grad):
        assert torch.equal(a, b)


def _bmn_like_head(seed):
    # BMN's banded head: the Conv3d's ReLU, then 1x1, 3x3, 3x3, 1x1 convs
    torch.manual_seed(seed)
    return nn.Sequential(nn.ReLU(), nn.Conv2d(6, 5, 1), nn.ReLU(), nn.Conv2d(5, 5, 3, padding=1),
                         nn.ReLU(), nn.Conv2d(5, 5, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(5, 2, 1), nn.Sigmoid())


@pytest.mark.parametrize('T,bands', [(20, 4), (13, 13)])
def test_consumed_rows_give_the_same_bits_and_hold_their_own_gradient(T, bands, monkeypatch):
    from mmloc.models.layers.bm_region import _ReluLinear
    monkeypatch.setattr(_ReluLinear, 'CHUNK', 7)       # several chunks and a short last one
    stack = _bmn_like_head(T)
    plan = band_plan(T, check_banded_stack(stack), bands)
    grids = stair_grids(plan)
    torch.manual_seed(1)
    source = torch.randn(2, len(stair_cells(plan)), 6, requires_grad=True)
    weight = torch.rand(2, 2, T, T)

    def run(consume):
        stack.zero_grad()
        source.grad = None
        rows = source * 1.5                                   # a non-leaf, like BMN's rows
        seen = []
        rows.register_hook(seen.append)
        out = banded_conv_stack(rows, stack, plan, grids, consume_rows=consume)
        (out * weight).sum().backward()
        return rows, seen[0], out.detach(), [source.grad.clone()] + [
            p.grad.clone() for p in stack.parameters()]

    rows_kept, grad_kept, out_kept, grads_kept = run(False)
    rows_used, grad_used, out_used, grads_used = run(True)
    assert torch.equal(out_used, out_kept)
    for a, b in zip(grads_used, grads_kept):
        assert torch.equal(a, b)
    assert torch.equal(grad_used, grad_kept)
    # the gradient lives in the rows' own storage (no second rows-sized tensor) ...
    assert grad_used.data_ptr() == rows_used.data_ptr()
    assert torch.equal(rows_used.detach(), grad_kept)
    # ... and only there: without consume_rows the rows are left as they were
    assert grad_kept.data_ptr() != rows_kept.data_ptr()
    assert torch.equal(rows_kept.detach(), source.detach() * 1.5)


def test_consumed_rows_refuse_a_second_backward_and_spare_a_leaf():
    T = 12
    stack = _bmn_like_head(0)
    plan = band_plan(T, check_banded_stack(stack), 3)
    grids = stair_grids(plan)
    source = torch.randn(1, len(stair_cells(plan)), 6, requires_grad=True)
    out = banded_conv_stack(source * 2, stack, plan, grids, consume_rows=True)
    out.sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError, match='backward a second time'):
        out.sum().backward()
    # a leaf is never overwritten: its .grad would alias its data
    leaf = source.detach().clone().requires_grad_()
    before = leaf.detach().clone()
    banded_conv_stack(leaf, stack, plan, grids, consume_rows=True).sum().backward()
    assert torch.equal(leaf.detach(), before)
    assert leaf.grad.data_ptr() != leaf.data_ptr()
