"""Boundary max pooling vs a loop emulation of AFSD's CUDA kernel, golden values (spec §8.2a),
and the region formulas (spec §8.2b)."""
import numpy as np
import pytest
import torch

from mmloc.models.afsd import boundary_max_pooling, frame_regions, level_regions


def cuda_int(v):
    """``static_cast<int>(float)`` on the GPU (cvt.rzi.s32.f32): truncation toward zero,
    saturating at the int32 range, NaN -> 0."""
    if np.isnan(v):
        return 0
    return int(np.trunc(np.clip(v, -2.0 ** 31, 2.0 ** 31 - 1)))


def loop_pooling(x, seg):
    """Kernel emulation: C truncation, clamp, inclusive max scanned from ``x[lo]`` with a
    strict ``>`` (so NaN never wins but stays if it is ``x[lo]``); grad to the arg-max."""
    x = np.asarray(x, np.float64)
    seg = np.asarray(seg, np.float64)
    b_, c_, t_ = x.shape
    k_ = seg.shape[1]
    y = np.zeros((b_, c_, k_))
    arg = np.zeros((b_, c_, k_), np.int64)
    for b in range(b_):
        for c in range(c_):
            h = c // (c_ // 2)
            for k in range(k_):
                lo = min(max(cuda_int(seg[b, k, 2 * h]), 0), t_ - 1)
                hi = min(max(cuda_int(seg[b, k, 2 * h + 1]), 0), t_ - 1)
                best, best_i = x[b, c, lo], lo
                for t in range(lo + 1, hi + 1):
                    if x[b, c, t] > best:
                        best, best_i = x[b, c, t], t
                y[b, c, k], arg[b, c, k] = best, best_i
    return y, arg


def loop_grad(x_shape, arg, grad_out):
    g = np.zeros(x_shape)
    b_, c_, k_ = arg.shape
    for b in range(b_):
        for c in range(c_):
            for k in range(k_):
                g[b, c, arg[b, c, k]] += grad_out[b, c, k]
    return g


X = torch.tensor([[[0, 5, 1, 3, 2, 4], [6, 0, 2, 7, 1, 3], [1, 2, 9, 0, 4, 8],
                   [3, 1, 0, 2, 5, 7]]], dtype=torch.float32)
SEG = torch.tensor([[[0, 2, 3, 5], [-2, 0, 4, 9], [1.7, 3.9, 2, 2]]])


def test_golden_forward_and_gradient():
    x = X.clone().requires_grad_(True)
    y = boundary_max_pooling(x, SEG)
    assert y.tolist() == [[[5, 0, 5], [6, 6, 7], [8, 8, 9], [7, 7, 0]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[1, 2, 0, 0, 0, 0], [2, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 2],
                                [0, 0, 1, 0, 0, 2]]]


def test_reversed_window_reads_lo():
    x = torch.arange(12, dtype=torch.float32).view(1, 2, 6)
    y = boundary_max_pooling(x, torch.tensor([[[3, 1, 5, 2]]], dtype=torch.float32))
    assert y.tolist() == [[[3], [11]]]


@pytest.mark.parametrize('t,k', [(16, 5), (7, 7), (32, 3)])
def test_matches_loop_reference_forward_and_grad(t, k):
    rng = np.random.default_rng(t * 10 + k)
    # Integer-valued features create ties, exercising the first-arg-max rule.
    x_np = rng.integers(0, 6, size=(2, 6, t)).astype(np.float32)
    seg_np = rng.uniform(-3, t + 3, size=(2, k, 4)).astype(np.float32)
    x = torch.from_numpy(x_np).requires_grad_(True)
    y = boundary_max_pooling(x, torch.from_numpy(seg_np))
    y_ref, arg = loop_pooling(x_np, seg_np)
    np.testing.assert_array_equal(y.detach().numpy(), y_ref)
    grad_out = rng.normal(size=y_ref.shape)
    y.backward(torch.from_numpy(grad_out).float())
    np.testing.assert_allclose(x.grad.numpy(), loop_grad(x_np.shape, arg, grad_out), rtol=1e-6)


def test_gradcheck():
    torch.manual_seed(0)
    x = torch.randn(1, 4, 10, dtype=torch.float64, requires_grad=True)  # no ties
    seg = torch.tensor([[[0, 3, 5, 9], [2.5, 2.5, 8, 4], [-1, 12, 1, 6]]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda v: boundary_max_pooling(v, seg), (x,))


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match='even'):
        boundary_max_pooling(torch.zeros(1, 3, 5), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match='segments'):
        boundary_max_pooling(torch.zeros(1, 4, 5), torch.zeros(1, 2, 3))


def test_regions_golden():
    # (level, t_i, j, (l, r)) -> seg, fseg at L = 256 (spec §8.2b)
    cases = [(64, 10, (20, 28), [4, 8, 14, 18], [17, 34, 58, 75]),
             (64, 10, (2, 2), [8, 10, 10, 12], [39, 41, 43, 45]),
             (8, 3, (40, 100), [1, 3, 5, 7], [58, 107, 177, 226])]
    for t, j, lr, seg, fseg in cases:
        loc = torch.zeros(1, t, 2)
        loc[0, j] = torch.tensor(lr, dtype=torch.float32)
        assert level_regions(loc, 256)[0, j].tolist() == seg
        assert frame_regions(loc, 256)[0, j].tolist() == fseg


def test_clamp_floor_bounds_equal_the_kernels_trunc_clamp():
    """The exportable bound formula (clamp to [0, T-1], then floor; ONNX has no ``trunc``)
    gives the kernel's (truncate toward zero, then clamp) for every finite bound."""
    t = 7
    gen = torch.Generator().manual_seed(0)
    seg = torch.cat([(torch.rand(4000, generator=gen) * 24 - 12),  # in, below and above
                     torch.tensor([-1.0, -0.999, -0.5, -0.0, 0.0, 0.5, 5.999, 6.0, 6.001, 7.0,
                                   1e9, -1e9])])
    old = seg.trunc().long().clamp(0, t - 1)
    new = seg.clamp(0, t - 1).floor().long()
    assert torch.equal(old, new)
    # and the pooling itself on random maps / bounds vs the loop emulation of the kernel
    x = torch.randn(2, 4, t, generator=gen)
    bounds = torch.rand(2, 9, 4, generator=gen) * 12 - 3
    y, _ = loop_pooling(x.numpy(), bounds.numpy())
    np.testing.assert_array_equal(boundary_max_pooling(x, bounds).numpy(), y.astype(np.float32))


INF, NAN = float('inf'), float('nan')


@pytest.mark.parametrize('bound,step', [(INF, 5), (2.0 ** 63, 5), (2.0 ** 64, 5), (2.0 ** 31, 5),
                                        (1e30, 5), (-INF, 0), (-2.0 ** 63, 0), (NAN, 0)])
def test_non_finite_and_huge_bounds_saturate_like_the_kernel(bound, step):
    """+inf and any huge bound read the last step, -inf step 0, NaN (cast to 0) step 0."""
    x = torch.arange(12, dtype=torch.float32).view(1, 2, 6)
    seg = torch.tensor([[[bound, bound, bound, bound]]])
    y = boundary_max_pooling(x, seg)
    assert y.tolist() == [[[step], [6 + step]]]
    ref, _ = loop_pooling(x.numpy(), seg.numpy())
    np.testing.assert_array_equal(y.numpy(), ref)
    # as the upper bound of a range starting at 1: the range runs to that step (or is empty)
    seg = torch.tensor([[[1.0, bound, 1.0, bound]]])
    assert boundary_max_pooling(x, seg).tolist() == [[[max(step, 1)], [6 + max(step, 1)]]]


def test_nan_features_are_skipped_unless_first():
    x = torch.tensor([[[1.0, NAN, 3.0, 0.0, NAN, 2.0],       # start half
                       [NAN, 2.0, 5.0, 1.0, 4.0, NAN]]],      # end half
                     requires_grad=True)
    seg = torch.tensor([[[0, 5, 1, 4], [1, 3, 0, 2], [4, 5, 5, 5], [1, 1, 3, 4]]],
                       dtype=torch.float32)
    y = boundary_max_pooling(x, seg)
    ref, arg = loop_pooling(x.detach().numpy(), seg.numpy())
    np.testing.assert_array_equal(y.detach().numpy(), ref)   # NaN where the kernel gives NaN
    # start half: [0..5] skips both NaNs -> 3; [1..3] starts at NaN -> NaN; [4..5] -> NaN first;
    # [1..1] -> NaN. End half: [1..4] -> 5; [0..2] starts at NaN; [5..5] NaN; [3..4] -> 4.
    assert np.array_equal(y.detach().numpy(), np.array(
        [[[3, NAN, NAN, NAN], [5, NAN, NAN, 4]]], np.float32), equal_nan=True)
    grad_out = torch.arange(1, 9, dtype=torch.float32).view(1, 2, 4)
    y.backward(grad_out)
    np.testing.assert_array_equal(x.grad.numpy(), loop_grad(x.shape, arg, grad_out.numpy()))


def test_all_minus_inf_range_reads_lo_and_routes_the_gradient_there():
    x = torch.tensor([[[-INF, -INF, -INF, 7.0], [-INF, -INF, NAN, 1.0]]], requires_grad=True)
    seg = torch.tensor([[[1, 2, 1, 2]]], dtype=torch.float32)
    y = boundary_max_pooling(x, seg)
    assert y.tolist() == [[[-INF], [-INF]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[0, 1, 0, 0], [0, 1, 0, 0]]]


def test_random_maps_with_nan_and_inf_match_the_loop_reference():
    rng = np.random.default_rng(7)
    x_np = rng.integers(0, 5, size=(2, 6, 9)).astype(np.float32)
    x_np[rng.random(x_np.shape) < 0.2] = np.nan
    x_np[rng.random(x_np.shape) < 0.1] = -np.inf
    x_np[rng.random(x_np.shape) < 0.05] = np.inf
    seg_np = rng.uniform(-3, 12, size=(2, 40, 4)).astype(np.float32)
    seg_np[rng.random(seg_np.shape) < 0.1] = np.nan
    seg_np[rng.random(seg_np.shape) < 0.05] = np.inf
    seg_np[rng.random(seg_np.shape) < 0.05] = -np.inf
    x = torch.from_numpy(x_np).requires_grad_(True)
    y = boundary_max_pooling(x, torch.from_numpy(seg_np))
    y_ref, arg = loop_pooling(x_np, seg_np)
    np.testing.assert_array_equal(y.detach().numpy(), y_ref.astype(np.float32))
    grad_out = rng.normal(size=y_ref.shape)
    y.backward(torch.from_numpy(grad_out).float())
    # float32 sums of several gradients vs float64 ones
    np.testing.assert_allclose(x.grad.numpy(), loop_grad(x_np.shape, arg, grad_out), rtol=1e-5,
                               atol=1e-6)
