"""The fused PEM MLP against autograd's plain path, and its buffer reuse."""
import copy
import pickle
import weakref

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmloc.models.layers.pem_mlp import Workspace, scaled_relu_mlp


def _layers(seed, feat=32, hidden=64, out=1):
    torch.manual_seed(seed)
    return nn.Linear(feat, hidden), nn.Linear(hidden, out)


def _plain_grads(x, fc1, fc2, ratio, weight):
    for p in (*fc1.parameters(), *fc2.parameters()):
        p.grad = None
    z = fc2(F.relu(ratio * fc1(x)))
    (torch.sigmoid(0.1 * z) * weight).sum().backward()
    return z.detach(), [p.grad.clone() for p in (*fc1.parameters(), *fc2.parameters())]


def _fused_grads(x, fc1, fc2, ratio, weight, workspace):
    for p in (*fc1.parameters(), *fc2.parameters()):
        p.grad = None
    z = scaled_relu_mlp(x, fc1, fc2, ratio, workspace)
    (torch.sigmoid(0.1 * z) * weight).sum().backward()
    return z.detach(), [p.grad.clone() for p in (*fc1.parameters(), *fc2.parameters())]


@pytest.mark.parametrize('seed,rows,out', [(0, 1, 1), (1, 37, 1), (2, 3000, 1), (3, 50, 3)])
def test_fused_equals_autograd_bit_for_bit(seed, rows, out):
    fc1, fc2 = _layers(seed, out=out)
    x = torch.randn(rows, 32)
    weight = torch.randn(rows, out)
    ws = Workspace()
    z_ref, g_ref = _plain_grads(x, fc1, fc2, 0.1, weight)
    for _ in range(3):                               # reused buffers give the same again
        z, g = _fused_grads(x, fc1, fc2, 0.1, weight, ws)
        assert torch.equal(z, z_ref)
        for a, b in zip(g, g_ref):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_dead_units_get_no_gradient():
    fc1, fc2 = _layers(4)
    with torch.no_grad():
        fc1.bias[:10] = -1e3                          # these units are never active
    x = torch.randn(100, 32)
    _, (gw1, gb1, _, _) = _fused_grads(x, fc1, fc2, 0.1, torch.ones(100, 1), Workspace())
    assert torch.all(gw1[:10] == 0) and torch.all(gb1[:10] == 0)
    assert torch.any(gw1[10:] != 0)


def test_buffers_are_reused_after_backward_and_not_while_a_graph_holds_them():
    fc1, fc2 = _layers(5)
    x = torch.randn(64, 32)
    ws = Workspace()
    scaled_relu_mlp(x, fc1, fc2, 0.1, ws).sum().backward()
    hidden = weakref.ref(ws._buffers['hidden'])      # a weakref: no reference held
    scaled_relu_mlp(x, fc1, fc2, 0.1, ws).sum().backward()
    assert ws._buffers['hidden'] is hidden()          # reused once the backward is done
    pending = scaled_relu_mlp(x, fc1, fc2, 0.1, ws)   # graph alive, no backward yet
    held = weakref.ref(ws._buffers['hidden'])
    z2 = scaled_relu_mlp(2 * x, fc1, fc2, 0.1, ws)
    assert held() is not None                         # the pending graph keeps its own
    assert ws._buffers['hidden'] is not held()        # and the new forward got a fresh one
    # the pending graph's gradients are still those of its own input
    fc1.weight.grad = None
    pending.sum().backward()
    g_pending = fc1.weight.grad.clone()
    fc1.weight.grad = None
    fc2(F.relu(0.1 * fc1(x))).sum().backward()
    torch.testing.assert_close(g_pending, fc1.weight.grad, rtol=0, atol=0)
    z2.sum().backward()


def test_plain_path_without_grad_or_workspace():
    fc1, fc2 = _layers(6)
    x = torch.randn(20, 32)
    ws = Workspace()
    with torch.no_grad():
        z = scaled_relu_mlp(x, fc1, fc2, 0.1, ws)
    assert z.grad_fn is None and not ws._buffers
    assert torch.equal(z, fc2(F.relu(0.1 * fc1(x))).detach())
    assert scaled_relu_mlp(x, fc1, fc2, 0.1, None).grad_fn is not None


def test_second_backward_is_a_clear_error():
    fc1, fc2 = _layers(7)
    z = scaled_relu_mlp(torch.randn(8, 32), fc1, fc2, 0.1, Workspace())
    z.sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError, match='retain_graph'):
        z.sum().backward()


def test_copies_start_empty():
    fc1, fc2 = _layers(8)
    ws = Workspace()
    scaled_relu_mlp(torch.randn(8, 32), fc1, fc2, 0.1, ws).sum().backward()
    assert ws._buffers
    assert not copy.deepcopy(ws)._buffers
    assert not pickle.loads(pickle.dumps(ws))._buffers


def test_pem_loss_gradients_equal_the_plain_modules():
    from mmloc.models.localizers.bsn import PEM
    pem = PEM()
    x = torch.rand(300, 32)
    ref_iou = torch.rand(300)

    def grads(forward):
        pem.zero_grad()
        torch.manual_seed(0)                         # the loss samples proposals
        pem.loss_module(forward(x), ref_iou).backward()
        return [p.grad.clone() for p in pem.parameters()]

    fused = grads(pem._forward)
    plain = grads(lambda v: torch.sigmoid(0.1 * pem.fc2(F.relu(0.1 * pem.fc1(v)))))
    assert pem._workspace._buffers                   # the fused path did run
    for a, b in zip(fused, plain):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize('seed,rows,out', [(6, 1, 1), (7, 430, 1), (8, 2000, 3)])
def test_no_grad_in_place_path_equals_plain_bit_for_bit(seed, rows, out):
    from mmloc.models.localizers.bsn import PEM
    fc1, fc2 = _layers(seed, out=out)
    x = torch.randn(rows, 32)
    want = fc2(F.relu(0.1 * fc1(x))).detach()
    with torch.no_grad():
        got = scaled_relu_mlp(x, fc1, fc2, 0.1, Workspace())
    assert torch.equal(got, want)
    pem = PEM(pem_hidden_dim=64)
    pem.fc1.load_state_dict(fc1.state_dict())
    if out == 1:
        pem.fc2.load_state_dict(fc2.state_dict())
        plain = torch.sigmoid(0.1 * fc2(F.relu(0.1 * fc1(x)))).detach()
        with torch.no_grad():
            assert torch.equal(pem(x), plain)
        assert torch.equal(pem(x).detach(), plain)           # grad mode: the fused path
