"""Fused sparse "BM layer + Conv3d" equals the dense path (forward and gradients)."""
import pytest
import torch
import torch.nn.functional as F

from mmloc.models.layers import (bm_bag_index, bm_bag_tensors, bm_dense_mask, bm_sparse_mask,
                                 dense_bm_layer, fused_bm_conv3d)


def _buffers(T, N, P, ratio):
    return bm_bag_tensors(bm_bag_index(bm_sparse_mask(T, N, P, ratio)))


def _dense(feature, mask, weight, bias, N):
    y = dense_bm_layer(feature, mask, N)                  # (B, C, N, T, T)
    return F.conv3d(y, weight, bias).squeeze(2)


@pytest.mark.parametrize('B,C,O,T,N,P', [(1, 4, 3, 8, 4, 3), (3, 16, 24, 16, 8, 3),
                                         (2, 8, 5, 13, 5, 2)])
def test_fused_equals_dense_forward_and_grads(B, C, O, T, N, P):
    g = torch.Generator().manual_seed(T * 7 + B)
    feature = torch.randn(B, C, T, generator=g, requires_grad=True)
    weight = torch.randn(O, C, N, 1, 1, generator=g, requires_grad=True)
    bias = torch.randn(O, generator=g, requires_grad=True)
    mask = torch.from_numpy(bm_dense_mask(T, N, P, 0.5))
    upstream = torch.randn(B, O, T, T, generator=g)

    out_f = fused_bm_conv3d(feature, weight, bias, _buffers(T, N, P, 0.5))
    grads_f = torch.autograd.grad((out_f * upstream).sum(), (feature, weight, bias))
    out_d = _dense(feature, mask, weight, bias, N)
    grads_d = torch.autograd.grad((out_d * upstream).sum(), (feature, weight, bias))

    assert out_f.shape == out_d.shape == (B, O, T, T)
    assert (out_f - out_d).abs().max() <= 1e-4
    for gf, gd in zip(grads_f, grads_d):
        assert (gf - gd).abs().max() <= 1e-4
    # Invalid cells (s + d >= T) are exactly the bias, as in the dense path.
    invalid = torch.arange(T)[:, None] + torch.arange(T)[None, :] >= T
    assert torch.equal(out_f[:, :, invalid] - bias.detach()[None, :, None],
                       torch.zeros(B, O, int(invalid.sum())))


def test_fused_without_bias_and_weight_check():
    T, N = 6, 3
    buffers = _buffers(T, N, 3, 0.5)
    x = torch.randn(2, 4, T)
    w = torch.randn(5, 4, N, 1, 1)
    mask = torch.from_numpy(bm_dense_mask(T, N, 3, 0.5))
    torch.testing.assert_close(fused_bm_conv3d(x, w, None, buffers),
                               _dense(x, mask, w, None, N), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match='weight of shape'):
        fused_bm_conv3d(x, torch.randn(5, 3, N, 1, 1), None, buffers)


def test_fused_under_cpu_autocast_bfloat16():
    T, N = 8, 4
    buffers = _buffers(T, N, 3, 0.5)
    x = torch.randn(2, 8, T, requires_grad=True)
    w = torch.randn(6, 8, N, 1, 1, requires_grad=True)
    b = torch.randn(6, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = fused_bm_conv3d(x, w, b, buffers)
    out.float().sum().backward()
    ref = _dense(x.detach(), torch.from_numpy(bm_dense_mask(T, N, 3, 0.5)), w.detach(),
                 b.detach(), N)
    # bfloat16 has ~3 significant digits.
    assert (out.float() - ref).abs().max() <= 0.05 * ref.abs().max()
    assert x.grad is not None and torch.isfinite(w.grad).all()


def test_custom_backward_passes_gradcheck():
    # float64 finite differences through the transposed-bag backward.
    T, N = 7, 3
    index = _buffers(T, N, 2, 0.5)
    x = torch.randn(2, 4, T, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, N, 1, 1, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: fused_bm_conv3d(*a, index), (x, w, b))


def test_fused_relu_flag_equals_relu_after():
    T, N = 8, 4
    index = _buffers(T, N, 3, 0.5)
    x = torch.randn(2, 8, T)
    w = torch.randn(6, 8, N, 1, 1)
    b = torch.randn(6)
    torch.testing.assert_close(fused_bm_conv3d(x, w, b, index, relu=True),
                               torch.relu(fused_bm_conv3d(x, w, b, index)), atol=0, rtol=0)
