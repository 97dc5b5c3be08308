"""row_gemm: the oneDNN 1x1-convolution products against plain float64 matmuls, the
fallback against the code it replaced (same bits), and the in-place contracts."""
import contextlib

import pytest
import torch

from mmloc.models.layers import row_gemm

needs_onednn = pytest.mark.skipif(not torch.backends.mkldnn.is_available(),
                                  reason='torch built without oneDNN')


@contextlib.contextmanager
def _onednn(enabled: bool):
    # torch.backends.mkldnn.flags() also sets TF32 and warns about it on every use
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def _data(seed, R=37, K=24, N=10):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(R, K, generator=g), torch.randn(N, K, generator=g),
            torch.randn(R, N, generator=g))


def _close(a, b, scale=1.0):
    assert a.shape == b.shape and a.dtype == torch.float32
    assert torch.allclose(a.double(), b, rtol=1e-5, atol=1e-5 * scale), (a.double() - b).abs().max()


@needs_onednn
def test_cpu_float32_takes_onednn_and_the_rest_does_not():
    x = torch.zeros(3, 4)
    assert row_gemm.onednn_rows(x)
    assert not row_gemm.onednn_rows(x.double())
    with _onednn(False):
        assert not row_gemm.onednn_rows(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not row_gemm.onednn_rows(x)


@pytest.mark.parametrize('onednn', [True, False])
@pytest.mark.parametrize('seed', range(3))
def test_products_equal_float64_matmuls(seed, onednn):
    if onednn and not torch.backends.mkldnn.is_available():
        pytest.skip('torch built without oneDNN')
    x, w, gy = _data(seed)
    with _onednn(onednn):
        assert row_gemm.onednn_rows(x) == onednn
        y = row_gemm.linear_rows(x, w)
        out = torch.full((x.shape[0], w.shape[0]), float('nan'))
        assert row_gemm.linear_rows(x, w, out=out) is out
        gx, gw = row_gemm.linear_rows_backward(gy, x, w)
        only_w = row_gemm.linear_rows_backward(gy, x, w, need_input=False)
        only_x = row_gemm.linear_rows_backward(gy, x, w, need_weight=False)
    _close(y, x.double() @ w.double().t())
    assert torch.equal(out, y)
    _close(gx, gy.double() @ w.double())
    _close(gw, gy.double().t() @ x.double(), scale=10)
    assert only_w[0] is None and torch.equal(only_w[1], gw)
    assert only_x[1] is None and torch.equal(only_x[0], gx)


@pytest.mark.parametrize('onednn', [True, False])
def test_backward_sums_the_weight_gradient_into_the_given_tensor(onednn):
    if onednn and not torch.backends.mkldnn.is_available():
        pytest.skip('torch built without oneDNN')
    x, w, gy = _data(4)
    with _onednn(onednn):
        want_x, want_w = row_gemm.linear_rows_backward(gy, x, w)
        acc = torch.ones_like(w)
        gx, gw = row_gemm.linear_rows_backward(gy, x, w, grad_w_sum=acc)
    assert torch.equal(gx, want_x) and gw is acc
    _close(acc, want_w.double() + 1, scale=10)


def test_fallback_is_the_matmul_code_it_replaced():
    x, w, gy = _data(5, R=300, K=64, N=48)
    with _onednn(False):
        y = row_gemm.linear_rows(x, w)
        acc = torch.zeros_like(w)
        gx, gw = row_gemm.linear_rows_backward(gy, x, w, grad_w_sum=acc)
    assert torch.equal(y, torch.matmul(x, w.t()))
    assert torch.equal(gx, gy.matmul(w))
    assert torch.equal(gw, torch.zeros_like(w).addmm_(gy.t(), x))


@pytest.mark.parametrize('onednn', [True, False])
def test_channel_mix_and_its_gradients_equal_the_transposed_matmul(onednn):
    if onednn and not torch.backends.mkldnn.is_available():
        pytest.skip('torch built without oneDNN')
    g = torch.Generator().manual_seed(6)
    feat = torch.randn(3, 16, 11, generator=g, dtype=torch.float64)
    weight = torch.randn(20, 16, generator=g, dtype=torch.float64)
    grad = torch.randn(3, 11, 20, generator=g, dtype=torch.float64)
    f32 = [t.float().requires_grad_() for t in (feat, weight)]
    with _onednn(onednn):
        out = row_gemm.channel_mix(*f32)
    out.backward(grad.float())
    ref = [t.clone().requires_grad_() for t in (feat, weight)]
    want = torch.matmul(ref[0].transpose(1, 2), ref[1].t())
    want.backward(grad)
    assert out.is_contiguous() and out.shape == (3, 11, 20)
    _close(out.detach(), want.detach(), scale=4)
    for a, b in zip(f32, ref):
        _close(a.grad, b.grad, scale=10)
