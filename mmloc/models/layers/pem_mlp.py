"""PEM's scaled MLP with its (N, hidden) activations in reused buffers.

``z = fc2(relu(r1 * fc1(x)))``; PEM applies ``sigmoid(r2 * z)`` on top. A PEM batch is
~8000 proposals, so the hidden layer is an 8 MB tensor, and autograd's plain path makes
six of them per step (fc1's output, ``r1 *``, ``relu``, and the three gradients). Freed
blocks that large go back to the OS, so every step pays page faults on fresh memory, which
cost more than the arithmetic. Here the forward and backward write into two buffers
owned by the module and reused step after step; the numbers are the same ops on the same
values (bit-identical to autograd's path).
"""
from __future__ import annotations

import sys

import torch
import torch.nn.functional as F
from torch import nn

_THRESHOLD_BACKWARD = torch.ops.aten.threshold_backward.grad_input


class Workspace:
    """Named reusable tensors; a buffer still referenced elsewhere is never handed out.

    ``take`` returns the stored tensor when its shape, dtype and device match and nobody
    else holds it (Python reference count), else a fresh one that replaces it. A copy or
    pickle of the owner starts with an empty workspace.
    """

    def __init__(self) -> None:
        self._buffers: dict = {'calibration': object()}
        # What the count reads for a buffer nobody else holds, measured through the same
        # code (the interpreter's own references differ between Python versions).
        _, self._unheld = self._lookup('calibration')
        self._buffers.clear()

    def _lookup(self, name: str):
        buf = self._buffers.get(name)
        return buf, (sys.getrefcount(buf) if buf is not None else 0)

    def take(self, name: str, shape: tuple, like: torch.Tensor) -> torch.Tensor:
        buf, refs = self._lookup(name)
        if (buf is None or buf.shape != shape or buf.dtype != like.dtype
                or buf.device != like.device or refs > self._unheld):
            buf = like.new_empty(shape)
            self._buffers[name] = buf
        return buf

    def __deepcopy__(self, memo) -> 'Workspace':
        return Workspace()

    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()


class _ScaledReluMLP(torch.autograd.Function):
    """(N, F) -> (N, O): ``addmm(b2, relu(r1 * addmm(b1, x, W1^T)), W2^T)``.

    The hidden activations live in the workspace's ``'hidden'`` buffer from the forward
    until the backward, which then lets go of it; the hidden gradient is the
    ``'grad_hidden'`` buffer. Input gradients are not computed (x is data).
    """

    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2, ratio1, workspace):
        hidden = workspace.take('hidden', (x.shape[0], w1.shape[0]), x)
        torch.addmm(b1, x, w1.t(), out=hidden)
        hidden.mul_(ratio1).relu_()
        ctx.hidden, ctx.ratio1, ctx.workspace = hidden, ratio1, workspace
        ctx.save_for_backward(x, w2)
        return torch.addmm(b2, hidden, w2.t())

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        hidden = ctx.hidden
        if hidden is None:
            raise RuntimeError('PEM: the fused MLP frees its activations after one backward; '
                               'retain_graph=True is not supported (set the model to '
                               'eval() or use torch.no_grad() for a plain forward)')
        ctx.hidden = None                   # the buffer is free for the next forward
        x, w2 = ctx.saved_tensors
        grad_w2 = grad_out.t().mm(hidden)
        grad_b2 = grad_out.sum(0)
        grad_hidden = ctx.workspace.take('grad_hidden', hidden.shape, hidden)
        torch.mm(grad_out, w2, out=grad_hidden)
        _THRESHOLD_BACKWARD(grad_hidden, hidden, 0, grad_input=grad_hidden)
        grad_hidden.mul_(ctx.ratio1)
        grad_w1 = grad_hidden.t().mm(x)
        grad_b1 = grad_hidden.sum(0)
        return None, grad_w1, grad_b1, grad_w2, grad_b2, None, None


def _traced() -> bool:
    """Whether torch.compile, the JIT tracer or the ONNX exporter is watching: they get the
    plain modules' ops."""
    return (torch.compiler.is_compiling() or torch.jit.is_tracing()
            or torch.onnx.is_in_onnx_export())


def no_graph() -> bool:
    """True when no autograd graph is recorded and nothing traces, compiles or exports: an
    op may then write into its input (same values, no fresh (N, hidden) tensors)."""
    return not torch.is_grad_enabled() and not _traced()


def scaled_relu_mlp(x: torch.Tensor, fc1: nn.Linear, fc2: nn.Linear, ratio1: float,
                    workspace: Workspace | None = None) -> torch.Tensor:
    """``fc2(relu(ratio1 * fc1(x)))`` for x (N, F) -> (N, O), same values as autograd's.

    With ``workspace`` and gradients wanted (grad mode, parameters that require grad, no
    autocast, not compiling, tracing or exporting) the fused function with reused buffers
    runs; without a graph (:func:`no_graph`) the scale and ReLU run in place on fc1's
    output; otherwise the plain modules do. x and the parameters share one dtype.
    """
    fused = (workspace is not None and torch.is_grad_enabled() and fc1.weight.requires_grad
             and fc2.weight.requires_grad and fc1.bias is not None and fc2.bias is not None
             and not x.requires_grad and x.dim() == 2
             and not torch.is_autocast_enabled(x.device.type) and not _traced())
    if fused:
        return _ScaledReluMLP.apply(x, fc1.weight, fc1.bias, fc2.weight, fc2.bias, ratio1,
                                    workspace)
    if no_graph():
        return fc2(fc1(x).mul_(ratio1).relu_())
    return fc2(F.relu(ratio1 * fc1(x)))
