"""Products of row-major activations with a weight, as oneDNN 1x1 convolutions on CPU.

A (R, K) row-major activation is the channels-last layout of a (1, K, R, 1) image, so
``x @ W^T`` is a 1x1 convolution of it, and its two gradients are that convolution's
backward. On CPU, torch runs ``matmul`` through MKL's sgemm and convolutions through
oneDNN; on the machine we measured (AMD Zen 5, AVX-512) oneDNN's kernels are 1.5-2.2x
faster on BMN's shapes (``docs/benchmarks.md``, "BMN training step against the FLOP
floor"). Same products, other float summation order. Elsewhere (CUDA, other dtypes,
autocast, tracing for export, ``torch.compile``) the plain ``matmul`` runs.
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F

_CONV_ARGS = ([1, 1], [0, 0], [1, 1], False, [0, 0], 1)   # stride, padding, dilation, ...


def onednn_rows(x: torch.Tensor) -> bool:
    """Whether the products of ``x`` go through oneDNN's 1x1 convolution: a float32 CPU
    tensor, oneDNN available and enabled, no autocast, not being traced or compiled
    (``torch.compile`` picks its own kernels)."""
    if torch.compiler.is_compiling():   # first: dynamo does not trace torch.backends
        return False
    return (x.device.type == 'cpu' and x.dtype == torch.float32
            and torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled
            and not torch.is_autocast_enabled('cpu') and not torch.jit.is_tracing())


def _image(rows: torch.Tensor) -> torch.Tensor:
    """(R, K) row-major -> the (1, K, R, 1) channels-last view of the same memory."""
    rows = rows.contiguous()
    return rows.view(1, rows.shape[0], 1, rows.shape[1]).permute(0, 3, 1, 2)


def _rows(image: torch.Tensor) -> torch.Tensor:
    """(1, K, R, 1) -> (R, K) (a view when ``image`` is channels-last)."""
    return image.permute(0, 2, 3, 1).reshape(image.shape[2], image.shape[1])


def channel_mix(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``x.transpose(1, 2) @ weight.t()``: (B, C, T) features -> (B, T, M) rows, autograd.

    Args:
        x: (B, C, T). weight: (M, C).

    Returns:
        (B, T, M), contiguous.
    """
    if not onednn_rows(x):
        return torch.matmul(x.transpose(1, 2), weight.t())
    image = x.unsqueeze(-1).contiguous(memory_format=torch.channels_last)   # (B, C, T, 1)
    out = F.conv2d(image, weight[:, :, None, None])                         # (B, M, T, 1)
    return out.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], weight.shape[0])


def linear_rows(x: torch.Tensor, weight: torch.Tensor,
                out: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``x @ weight.t()`` without autograd: (R, K) rows, (N, K) weight -> (R, N).

    ``out``: an (R, N) tensor to write into (e.g. a slice of a larger result).
    """
    if not onednn_rows(x):
        return torch.matmul(x, weight.t(), out=out)
    y = _rows(F.conv2d(_image(x), weight[:, :, None, None]))
    return y if out is None else out.copy_(y)


def linear_rows_backward(grad_y: torch.Tensor, x: torch.Tensor, weight: torch.Tensor,
                         need_input: bool = True, need_weight: bool = True,
                         grad_w_sum: Optional[torch.Tensor] = None,
                         ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor]]:
    """Gradients of ``y = x @ weight.t()``: ``grad_y @ weight`` (R, K) and ``grad_y.t() @ x``
    (N, K), each None when not asked for.

    Args:
        grad_y: (R, N). x: (R, K). weight: (N, K).
        grad_w_sum: (N, K) to add the weight gradient to (returned as the weight gradient).
    """
    if not onednn_rows(x):
        grad_w = None
        if need_weight:
            grad_w = (grad_w_sum.addmm_(grad_y.t(), x) if grad_w_sum is not None
                      else grad_y.t().matmul(x))
        return (grad_y.matmul(weight) if need_input else None), grad_w
    grad_x, grad_w, _ = torch.ops.aten.convolution_backward(
        _image(grad_y), _image(x), weight[:, :, None, None], None, *_CONV_ARGS,
        [need_input, need_weight, False])
    if need_weight:
        grad_w = grad_w.view(weight.shape)
        grad_w = grad_w if grad_w_sum is None else grad_w_sum.add_(grad_w)
    return (_rows(grad_x) if need_input else None), grad_w
