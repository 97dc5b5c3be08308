"""BMN's 2-D head over the valid triangle of the BM map only.

A BM map cell ``(d, s)`` (duration index d, start index s) is a proposal only where
``s + d <= T - 1`` (``bm_mask``); BMN's loss multiplies every other cell by zero, so in
training about half of the 2-D convolutions' work is spent on cells nothing depends on.
This module computes, for each layer of a stack of stride-1 "same" convolutions, only the
cells that the valid triangle of the stack's output reads (the triangle dilated by the
half-widths of the kernels that follow), band by band along d: each band is a rectangle
``rows [a, b) x cols [0, w)`` whose width is that of its widest (first) row. The cells a
valid output reads are the same numbers as in the full-map stack (same kernels, same
zero padding at the map's true border), so the valid outputs, the loss and every
gradient equal the full-map computation up to float summation order; cells outside the
valid triangle come out as 0.
"""
from __future__ import annotations

from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .row_gemm import linear_rows, linear_rows_backward


class BandPlan(NamedTuple):
    """Which rectangle of each layer's output is computed.

    Attributes:
        temporal_dim: T, the map is (T(d), T(s)).
        kernel_sizes: the stack's conv kernel sizes, in order.
        edges: (K+1,) row edges of the K bands along d.
        widths: per conv layer (in stack order), (K,) columns ``[0, w)`` computed for each
            band of that layer's output.
    """
    temporal_dim: int
    kernel_sizes: Tuple[int, ...]
    edges: Tuple[int, ...]
    widths: Tuple[Tuple[int, ...], ...]


def needed_columns(temporal_dim: int, kernel_sizes: Sequence[int]) -> List[np.ndarray]:
    """Per layer, how many leading columns of each row its output must hold.

    Args:
        temporal_dim: T.
        kernel_sizes: odd square kernel sizes of the stack's convolutions, in order.

    Returns:
        One (T,) int array per layer (stack order): row d of that layer's output is needed
        on columns ``[0, n[d])``. The last layer needs the valid triangle ``n[d] = T - d``;
        a k x k layer needs its input on its own needed cells dilated by ``k // 2``.
    """
    T = int(temporal_dim)
    need = np.arange(T, 0, -1)                         # T - d: the valid triangle
    per_layer = [need]
    for k in reversed(list(kernel_sizes)[1:]):
        r = int(k) // 2
        padded = np.concatenate([np.full(r, need[0]), need, np.zeros(r, need.dtype)])
        widest = np.max(np.lib.stride_tricks.sliding_window_view(padded, 2 * r + 1), axis=1)
        need = np.minimum(T, widest + r)
        per_layer.append(need)
    return per_layer[::-1]


def band_plan(temporal_dim: int, kernel_sizes: Sequence[int], num_bands: int) -> BandPlan:
    """Split the rows into ``num_bands`` equal bands and size each layer's rectangles.

    Args:
        temporal_dim: T.
        kernel_sizes: odd kernel sizes of the stack's convolutions, in order.
        num_bands: K, 1 <= K <= T.

    Returns:
        :class:`BandPlan`; band k of layer l covers rows ``[edges[k], edges[k+1])`` and
        columns ``[0, widths[l][k])`` (the needed width of the band's first, widest row).
    """
    T = int(temporal_dim)
    if any(int(k) % 2 == 0 for k in kernel_sizes):
        raise ValueError(f'band_plan: kernel sizes must be odd, got {list(kernel_sizes)}')
    if not 1 <= num_bands <= T:
        raise ValueError(f'band_plan: num_bands must be in [1, {T}], got {num_bands}')
    edges = tuple(int(e) for e in np.linspace(0, T, num_bands + 1).round())
    widths = tuple(tuple(int(need[a]) for a in edges[:-1])
                   for need in needed_columns(T, kernel_sizes))
    return BandPlan(T, tuple(int(k) for k in kernel_sizes), edges, widths)


def stair_cells(plan: BandPlan) -> np.ndarray:
    """The cells the first layer's output needs (``s < n[d]``, :func:`needed_columns`).

    Returns:
        (M,) int64 ids ``d*T + s``, row-major: the order of the rows that
        :func:`banded_conv_stack` takes instead of a map.
    """
    T = plan.temporal_dim
    need = needed_columns(T, plan.kernel_sizes)[0]
    d, s = np.nonzero(np.arange(T)[None, :] < need[:, None])
    return (d * T + s).astype(np.int64)


def stair_grids(plan: BandPlan, device=None) -> Tuple[torch.Tensor, ...]:
    """What :func:`banded_conv_stack` gathers from the :func:`stair_cells` rows.

    Returns:
        One (h+2r, w+2r) int64 tensor per band of the second conv (half-width r): the row
        positions its zero-padded input window reads, ``M`` (= number of rows) for a
        zero. With a single conv: one (T, T) grid, the whole output map.
    """
    T = plan.temporal_dim
    cells = stair_cells(plan)
    position = np.full(T * T, len(cells), dtype=np.int64)
    position[cells] = np.arange(len(cells))
    if len(plan.kernel_sizes) == 1:
        return (torch.as_tensor(position.reshape(T, T), device=device), )
    r = plan.kernel_sizes[1] // 2
    padded = np.pad(position.reshape(T, T), r, constant_values=len(cells))
    return tuple(torch.as_tensor(np.ascontiguousarray(padded[a:b + 2 * r, :w + 2 * r]),
                                 device=device)
                 for a, b, w in zip(plan.edges[:-1], plan.edges[1:], plan.widths[1]))


class _ReluLinear(torch.autograd.Function):
    """``linear(relu(x), W, b)`` without keeping ``relu(x)``, over row chunks.

    Autograd's ReLU would keep ``relu(x)`` next to x and its backward would allocate a
    second gradient as large as x (the (B, M, 512) BM rows: the training step's peak);
    here only x is kept, ``relu`` is recomputed chunk by chunk, and the linear's input
    gradient is masked in place. With ``consume=True`` (the caller's promise that nothing
    else reads x after this layer) the backward writes that gradient into x's own storage,
    chunk by chunk once the chunk's weight gradient is done: no second x-sized tensor and
    no x-sized mask; the graph then cannot be run backward twice.
    """
    CHUNK = 8192

    @staticmethod
    def forward(ctx, x, weight, bias, consume):
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.consume, ctx.consumed = bias is not None, consume, False
        flat = x.reshape(-1, x.shape[-1])
        y = x.new_empty(*x.shape[:-1], weight.shape[0])
        flat_y = y.view(-1, weight.shape[0])
        for i in range(0, flat.shape[0], _ReluLinear.CHUNK):
            rows = flat[i:i + _ReluLinear.CHUNK].relu()
            out = flat_y[i:i + _ReluLinear.CHUNK]
            linear_rows(rows, weight, out=out)
            if bias is not None:
                out.add_(bias)
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        if ctx.consumed:
            raise RuntimeError('BMN banded head: the graph was run backward a second time, '
                               'but the first backward reused the BM rows for their gradient '
                               '(retain_graph=True is not supported on this path)')
        x, weight = ctx.saved_tensors
        flat_y, flat_x = grad_y.reshape(-1, grad_y.shape[-1]), x.reshape(-1, x.shape[-1])
        grad_w = weight.new_zeros(weight.shape)
        in_place = ctx.consume and x.is_contiguous()   # flat_x is then a view of x
        # ReLU's backward: the gradient where x > 0, else 0 (x <= 0 is False for NaN),
        # one pass; in place, it reads each row before writing its gradient there
        relu_grad = torch.ops.aten.threshold_backward
        grad_x = None
        if not in_place:
            grad_x = linear_rows_backward(flat_y, flat_x, weight, need_weight=False)[0]
            grad_x = relu_grad(grad_x.reshape(x.shape), x, 0)
        for i in range(0, flat_x.shape[0], _ReluLinear.CHUNK):
            rows, grad_rows = flat_x[i:i + _ReluLinear.CHUNK], flat_y[i:i + _ReluLinear.CHUNK]
            grad_rows_x, _ = linear_rows_backward(grad_rows, rows.relu(), weight,
                                                  need_input=in_place, grad_w_sum=grad_w)
            if in_place:
                relu_grad.grad_input(grad_rows_x, rows, 0, grad_input=rows)
        if in_place:
            ctx.consumed, grad_x = True, x.detach()
        grad_b = flat_y.sum(0) if ctx.has_bias else None
        return grad_x, grad_w, grad_b, None


class _GatherWindows(torch.autograd.Function):
    """(B, M, C) rows -> per grid a (B, C, h, w) channels-last window (position M: zero).

    The backward adds all windows' gradients into one (B, M, C) buffer (``index_add_``)
    instead of autograd's per-window full-size zero maps.
    """

    @staticmethod
    def forward(ctx, rows, grids):
        ctx.grids, ctx.num_rows = grids, rows.shape[1]
        padded = F.pad(rows, (0, 0, 0, 1))                       # row M is the zero
        return tuple(padded.index_select(1, g.reshape(-1))
                     .view(rows.shape[0], *g.shape, rows.shape[2]).permute(0, 3, 1, 2)
                     for g in grids)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        like = next(g for g in grads if g is not None)
        grad = like.new_zeros(like.shape[0], ctx.num_rows + 1, like.shape[1])
        for g, grid in zip(grads, ctx.grids):
            if g is not None:
                grad.index_add_(1, grid.reshape(-1),
                                g.permute(0, 2, 3, 1).reshape(g.shape[0], -1, g.shape[1]))
        return grad[:, :ctx.num_rows], None


def _band_windows(T: int, edges: Sequence[int], widths: Sequence[int], r: int) -> list:
    """Per band: the slice of the map it reads and the zero padding around it.

    Band ``[a, b) x [0, w)`` of a layer with half-width r reads rows ``[a-r, b+r)`` and
    cols ``[-r, w+r)`` of its input; the part outside the map is zero padding.
    """
    windows = []
    for a, b, w in zip(edges[:-1], edges[1:], widths):
        r0, r1, c1 = max(0, a - r), min(T, b + r), min(T, w + r)
        pad = (r, w + r - c1, r0 - (a - r), (b + r) - r1)      # left, right, top, bottom
        windows.append((r0, r1, c1, pad))
    return windows


def _empty_channels_last(like: torch.Tensor, B: int, C: int, height: int,
                         width: int) -> torch.Tensor:
    """An uninitialised channels-last (B, C, height, width) tensor like ``like``."""
    return torch.empty((B, C, height, width), dtype=like.dtype, device=like.device,
                       memory_format=torch.channels_last)


def _zero_outside(buf: torch.Tensor, top: int, height: int, left: int, width: int) -> None:
    """Zero ``buf`` outside rows ``[top, top+height)`` x cols ``[left, left+width)``."""
    buf[:, :, :top].zero_()
    buf[:, :, top + height:].zero_()
    buf[:, :, top:top + height, :left].zero_()
    buf[:, :, top:top + height, left + width:].zero_()


class _BandSplit(torch.autograd.Function):
    """(B, C, T, T) -> one zero-padded, channels-last window per band.

    Autograd's own slicing would give every window's gradient as a full-size zero map to
    be summed; this backward adds the K window gradients into one map instead.
    """

    @staticmethod
    def forward(ctx, x, windows):
        ctx.windows, ctx.shape = windows, x.shape
        B, C = x.shape[:2]
        out = []
        for r0, r1, c1, (left, right, top, bottom) in windows:
            h, w = r1 - r0, c1
            buf = _empty_channels_last(x, B, C, top + h + bottom, left + w + right)
            buf[:, :, top:top + h, left:left + w] = x[:, :, r0:r1, :c1]
            _zero_outside(buf, top, h, left, w)
            out.append(buf)
        return tuple(out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        like = next(g for g in grads if g is not None)
        grad = _empty_channels_last(like, *ctx.shape)
        # 1x1 kernels: the windows tile the rows without overlap, so each gradient is
        # written once and only the columns right of it need zeros
        disjoint = all(pad == (0, 0, 0, 0) for *_, pad in ctx.windows)
        if not disjoint:
            grad.zero_()
        grads = list(grads)
        for k, (r0, r1, c1, (left, _, top, _)) in enumerate(ctx.windows):
            g, grads[k] = grads[k], None          # let each window's gradient go when used
            g = g[:, :, top:top + (r1 - r0), left:left + c1] if g is not None else 0
            if disjoint:
                grad[:, :, r0:r1, :c1] = g
                grad[:, :, r0:r1, c1:].zero_()
            else:
                grad[:, :, r0:r1, :c1] += g
        return grad, None


class _BandMerge(torch.autograd.Function):
    """Band outputs (B, C, h_k, w_k), stacked along d -> (B, C, T, T), 0 right of each."""

    @staticmethod
    def forward(ctx, T, *bands):
        ctx.shapes = [tuple(band.shape[-2:]) for band in bands]
        B, C = bands[0].shape[:2]
        out = _empty_channels_last(bands[0], B, C, T, T)
        row = 0
        for band in bands:
            h, w = band.shape[-2:]
            out[:, :, row:row + h, :w] = band
            out[:, :, row:row + h, w:].zero_()
            row += h
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        grads, row = [], 0
        for h, w in ctx.shapes:
            grads.append(grad[:, :, row:row + h, :w])
            row += h
        return (None, *grads)


class _Rewindow(torch.autograd.Function):
    """One layer's band outputs -> the next layer's zero-padded, channels-last windows.

    Band k is rows ``[edges[k], edges[k+1])`` x cols ``[0, w_k)`` of a map that is 0 right
    of it; the windows are those :class:`_BandSplit` would cut from the merged map, but
    they are copied straight from the bands, so neither the (B, C, T, T) map nor its
    gradient is ever built (the training step's largest transients after the BM rows).
    """

    @staticmethod
    def forward(ctx, edges, windows, *bands):
        ctx.edges, ctx.windows = edges, windows
        ctx.shapes = [tuple(band.shape) for band in bands]
        B, C = bands[0].shape[:2]
        like = bands[0]
        out = []
        for r0, r1, c1, (left, right, top, bottom) in windows:
            h = r1 - r0
            buf = _empty_channels_last(like, B, C, top + h + bottom, left + c1 + right)
            buf[:, :, :top].zero_()                 # the padding and, per band, the
            buf[:, :, top + h:].zero_()             # columns right of what it holds
            buf[:, :, top:top + h, :left].zero_()
            for _, a, band, a0, a1, w in _band_overlaps(edges, bands, r0, r1, c1):
                rows = slice(top + a0 - r0, top + a1 - r0)
                buf[:, :, rows, left:left + w] = band[:, :, a0 - a:a1 - a, :w]
                buf[:, :, rows, left + w:].zero_()
            out.append(buf)
        return tuple(out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grads):
        like = next(g for g in grads if g is not None)
        windows, edges = ctx.windows, ctx.edges
        band_grads = []
        # Band k's own window k covers all its rows: assign its part, then add what the
        # other windows read of it, in window order. While only window k-1 reaches into
        # band k from above (bands at least r rows high, as BMN's plan), these are the sums
        # of a zeroed map the windows are added to in order, bit for bit (a + b == b + a);
        # otherwise they may differ in the last bit.
        for k, shape in enumerate(ctx.shapes):
            r0, _, c1, (left, _, top, _) = windows[k]
            a, b, w = edges[k], edges[k + 1], min(shape[-1], c1)
            grad = _empty_channels_last(like, *shape)
            if grads[k] is None:
                grad.zero_()
            else:
                grad[..., :w] = grads[k][:, :, top + a - r0:top + b - r0, left:left + w]
                grad[..., w:].zero_()                 # read by no window of its own
            band_grads.append(grad)
        for k, (r0, r1, c1, (left, _, top, _)) in enumerate(windows):
            g = grads[k]
            if g is None:
                continue
            for j, a, grad, a0, a1, w in _band_overlaps(edges, band_grads, r0, r1, c1):
                if j == k:
                    continue
                rows = slice(top + a0 - r0, top + a1 - r0)
                grad[:, :, a0 - a:a1 - a, :w] += g[:, :, rows, left:left + w]
        return (None, None, *band_grads)


def _band_overlaps(edges, bands, r0: int, r1: int, c1: int):
    """``(k, a, band, a0, a1, w)`` for every band k, rows ``[a, edges[k+1])``, meeting rows
    ``[r0, r1)``: the shared rows ``[a0, a1)`` and the columns ``[0, w)`` the band holds
    below ``c1``."""
    for k, (a, b, band) in enumerate(zip(edges[:-1], edges[1:], bands)):
        a0, a1, w = max(a, r0), min(b, r1), min(band.shape[-1], c1)
        if a0 < a1 and w > 0:
            yield k, a, band, a0, a1, w


def banded_conv_stack(x: torch.Tensor, layers: Sequence[nn.Module], plan: BandPlan,
                      grids: Optional[Sequence[torch.Tensor]] = None,
                      consume_rows: bool = False) -> torch.Tensor:
    """Run a stack of stride-1 "same" Conv2d layers (and elementwise modules) band-wise.

    Args:
        x: (B, C, T(d), T(s)) input map (any memory format), or (B, M, C) rows of the
            :func:`stair_cells` only (the first conv must then be 1x1: it runs as a matrix
            product on the rows, and the rest of the map is never built).
        layers: ``nn.Conv2d`` (square odd kernel, stride 1, dilation 1, groups 1, padding
            k // 2, zero padding) interleaved with elementwise modules (ReLU, Sigmoid, ...);
            elementwise modules before the first conv must map 0 to 0 (they run on the
            zero-padded windows). See :func:`check_banded_stack`.
        plan: from :func:`band_plan` with this stack's kernel sizes and T.
        grids: with rows input, :func:`stair_grids` of ``plan`` (on ``x``'s device).
        consume_rows: with rows input and a ReLU before the first conv, the backward may
            overwrite ``x`` with its own gradient (saves an x-sized gradient and mask at the
            training step's peak). Only for an ``x`` nothing else reads afterwards (BMN's BM
            rows); the graph can then be run backward only once.

    Returns:
        (B, C_out, T, T): equal to ``layers(x)`` on the valid triangle ``s + d <= T - 1``
        (up to float summation order), 0 outside it.
    """
    T = plan.temporal_dim
    modules = list(layers)
    conv_idx = [i for i, m in enumerate(modules) if isinstance(m, nn.Conv2d)]
    if tuple(modules[i].kernel_size[0] for i in conv_idx) != plan.kernel_sizes:
        raise ValueError(f'banded_conv_stack: the plan is for kernels {plan.kernel_sizes}, '
                         f'the stack has {[modules[i].kernel_size[0] for i in conv_idx]}')
    windows, first = None, 0
    if x.dim() == 3:                            # rows of the stair cells
        conv = modules[conv_idx[0]]
        if grids is None or conv.kernel_size != (1, 1):
            raise ValueError('banded_conv_stack: rows input needs a 1x1 first conv and the '
                             'stair_grids of the plan')
        before = modules[:conv_idx[0]]
        if (len(before) == 1 and isinstance(before[0], nn.ReLU) and torch.is_grad_enabled()
                and not torch.is_autocast_enabled(x.device.type)
                and not torch.compiler.is_compiling()):    # autocast, compile: F.linear
            # BMN's Conv3d ReLU; a leaf's storage is never overwritten (its .grad would alias it)
            x = _ReluLinear.apply(x, conv.weight.flatten(1), conv.bias,
                                  consume_rows and x.grad_fn is not None)
        else:
            for module in before:
                x = module(x)
            x = F.linear(x, conv.weight.flatten(1), conv.bias)
        stop = conv_idx[1] if len(conv_idx) > 1 else len(modules)
        for module in modules[conv_idx[0] + 1:stop]:
            x = module(x)
        windows = _GatherWindows.apply(x, tuple(grids))
        if len(conv_idx) == 1:                  # nothing left to band: the map
            return _mask_valid(windows[0])
        first = 1
    elif x.shape[-2:] != (T, T):
        raise ValueError(f'banded_conv_stack: expected a ({T}, {T}) map, got '
                         f'{tuple(x.shape[-2:])}')
    edges = plan.edges
    # what each layer's bands read of its input map
    spans = [_band_windows(T, edges, plan.widths[i], k // 2)
             for i, k in enumerate(plan.kernel_sizes)]
    for layer_no in range(first, len(conv_idx)):
        start = conv_idx[layer_no]
        conv = modules[start]
        stop = conv_idx[layer_no + 1] if layer_no + 1 < len(conv_idx) else len(modules)
        before = modules[:start] if layer_no == 0 else []
        bands = []
        if windows is None:
            windows = _BandSplit.apply(x, spans[layer_no])
        for window in windows:
            for module in before:             # elementwise modules before the first conv
                window = module(window)
            y = F.conv2d(window, conv.weight, conv.bias)
            for module in modules[start + 1:stop]:
                y = module(y)
            bands.append(y)
        if layer_no + 1 < len(conv_idx):           # the next layer's windows, no map
            windows = _Rewindow.apply(edges, spans[layer_no + 1], *bands)
        else:
            x = _BandMerge.apply(T, *bands)
    return _mask_valid(x)


def _mask_valid(x: torch.Tensor) -> torch.Tensor:
    """Zero the cells ``s + d > T - 1`` of a (B, C, T, T) map."""
    T = x.shape[-1]
    idx = torch.arange(T, device=x.device)
    return x * ((idx[:, None] + idx[None, :]) <= T - 1).to(x.dtype)


_ZERO_PRESERVING = (nn.ReLU, nn.Identity, nn.LeakyReLU, nn.GELU)     # f(0) == 0


def check_banded_stack(layers: Sequence[nn.Module]) -> List[int]:
    """Kernel sizes of ``layers``' convolutions, in order.

    Raises ValueError unless every conv is a stride-1 "same" square conv with an odd kernel
    and zero padding, every other module is an elementwise activation, and those before
    the first conv keep 0 at 0.
    """
    sizes = []
    for m in layers:
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0]
            if (m.kernel_size != (k, k) or k % 2 == 0 or m.stride != (1, 1)
                    or m.dilation != (1, 1) or m.groups != 1 or m.padding != (k // 2, k // 2)
                    or m.padding_mode != 'zeros'):
                raise ValueError(f'banded_conv_stack: {m} is not a stride-1 "same" square '
                                 'conv with an odd kernel and zero padding')
            sizes.append(k)
        elif isinstance(m, _ZERO_PRESERVING) or (sizes and isinstance(m, nn.Sigmoid)):
            continue
        else:
            raise ValueError(f'banded_conv_stack: {type(m).__name__} is neither a Conv2d nor an '
                             'elementwise activation (one that keeps 0 at 0 before the first '
                             'conv)')
    if not sizes:
        raise ValueError('banded_conv_stack: the stack has no Conv2d')
    return sizes
