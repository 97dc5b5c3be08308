"""BMN "BM layer + first Conv3d": the dense reference and the fused sparse path.

Dense (MMAction2): ``Y = X @ W`` with the (T, N*T*T) sampling mask, reshaped to
(B, C, N, T, T), then a Conv3d with kernel (N, 1, 1). Both steps are linear with
nothing in between, so the fused path applies the Conv3d's channel mixing first,
on the (B, C, T) features (``G[b, n, j, o] = sum_c K[o, c, n] X[b, c, j]``), and
the sparse temporal sampling after it: each output cell (d, s) is a weighted sum
of at most ``N * 2P`` rows of ``G`` (an ``embedding_bag``). Cells with
``s + d >= T`` have empty bags, so they cost nothing and come out as the bias,
which is exactly what the dense path computes for their all-zero mask columns.
"""
from __future__ import annotations

from typing import Dict, NamedTuple, Optional

import numpy as np
import torch
import torch.nn.functional as F

from .bm_sampling import BMSparseMask
from .row_gemm import channel_mix


class BMBagIndex(NamedTuple):
    """The sparse sampling as bags, both ways round, for a chosen list of output cells.

    Forward: one bag per output position ``m`` (cell ``cells[m]`` = ``d*T + s``), over the
    rows ``j*N + n`` of the fused table ``G`` reshaped to (T*N, O). Transposed: one bag per
    table row, over the positions, which the backward pass uses instead of a scatter-add.
    A batch of B videos is laid out video by video: output row ``b*M + m``.

    Attributes:
        table_rows: (nnz,) int64, table row ``j*N + n`` of each entry, grouped by position.
        bag_offsets: (M,) int64, start of each position's bag in ``table_rows``.
        bag_weights: (nnz,) float32, the mask value of each entry.
        cells: (nnz,) int64, output position of each entry, grouped by table row.
        row_offsets: (T*N,) int64, start of each table row's bag in ``cells``.
        row_weights: (nnz,) float32, the mask value of each entry in that order.
    """
    table_rows: np.ndarray
    bag_offsets: np.ndarray
    bag_weights: np.ndarray
    cells: np.ndarray
    row_offsets: np.ndarray
    row_weights: np.ndarray


def _offsets(group: np.ndarray, num_groups: int) -> np.ndarray:
    counts = np.bincount(group, minlength=num_groups)
    offsets = np.zeros(num_groups, dtype=np.int64)
    np.cumsum(counts[:-1], out=offsets[1:])
    return offsets


def bm_bag_index(mask: BMSparseMask, cells: Optional[np.ndarray] = None) -> BMBagIndex:
    """Regroup the sparse mask's non-zeros by output position and by table row.

    Args:
        mask: from :func:`~mmloc.models.layers.bm_sampling.bm_sparse_mask`.
        cells: (M,) distinct cell ids ``d*T + s`` to compute, in output order; default all
            T*T cells in row-major order.

    Returns:
        :class:`BMBagIndex` (cells without samples, e.g. ``s + d >= T``, have empty bags).
    """
    T = mask.shape[0]
    num_cells = T * T
    num_bins = mask.shape[1] // num_cells
    cells = np.arange(num_cells) if cells is None else np.asarray(cells, dtype=np.int64)
    if (len(np.unique(cells)) != len(cells) or cells.min(initial=0) < 0
            or cells.max(initial=0) >= num_cells):
        raise ValueError('bm_bag_index: cells must be distinct ids in [0, T*T)')
    position = np.full(num_cells, -1, dtype=np.int64)
    position[cells] = np.arange(len(cells))
    pos = position[(mask.column % num_cells).astype(np.int64)]
    row = mask.snippet_idx.astype(np.int64) * num_bins + mask.column // num_cells
    kept = pos >= 0
    pos, row, weight = pos[kept], row[kept], mask.weight[kept]
    by_pos = np.lexsort((row, pos))
    by_row = np.lexsort((pos, row))
    return BMBagIndex(table_rows=row[by_pos], bag_offsets=_offsets(pos, len(cells)),
                      bag_weights=weight[by_pos].astype(np.float32),
                      cells=pos[by_row], row_offsets=_offsets(row, T * num_bins),
                      row_weights=weight[by_row].astype(np.float32))


def _index_dtype(bound: int) -> torch.dtype:
    """int32 bags (half the memory of the batched index) while every index fits."""
    return torch.int32 if bound < 2 ** 31 else torch.int64


def _batched_bags(index: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor,
                  batch: int, stride: int, dtype: torch.dtype) -> tuple:
    """Repeat one video's bags for ``batch`` videos whose tables are stacked ``stride`` apart."""
    itype = _index_dtype(batch * max(stride, index.numel()))
    video = torch.arange(batch, device=index.device, dtype=itype)[:, None]
    return ((index.to(itype)[None, :] + video * stride).reshape(-1),
            (offsets.to(itype)[None, :] + video * index.numel()).reshape(-1),
            weights.to(dtype)[None].expand(batch, -1).reshape(-1))


def _sparse_sampling_forward(table: torch.Tensor, batch: int,
                             index: Dict[str, torch.Tensor]) -> torch.Tensor:
    """``out[pos] = sum_e w_e * table[row_e]``: (B*T*N, O) table -> (B*M, O)."""
    rows, offsets, weights = _batched_bags(index['table_rows'], index['bag_offsets'],
                                           index['bag_weights'], batch,
                                           table.shape[0] // batch, table.dtype)
    return F.embedding_bag(rows, table, offsets, mode='sum', per_sample_weights=weights)


class _SparseSampling(torch.autograd.Function):
    """``out[pos] = sum_e w_e * table[row_e]`` with the transposed bags as backward.

    The gradient of an ``embedding_bag`` is a sort plus a scatter-add; the transposed
    bags turn it into another (parallel, deterministic) ``embedding_bag``.
    """

    @staticmethod
    def forward(ctx, table, batch, index):
        ctx.index, ctx.batch, ctx.num_cells = index, batch, index['bag_offsets'].numel()
        return _sparse_sampling_forward(table, batch, index)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        index = ctx.index
        cells, offsets, weights = _batched_bags(index['cells'], index['row_offsets'],
                                                index['row_weights'], ctx.batch,
                                                ctx.num_cells, grad_out.dtype)
        grad_table = F.embedding_bag(cells, grad_out.contiguous(), offsets, mode='sum',
                                     per_sample_weights=weights)
        return grad_table, None, None


def fused_bm_cells(feature: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                   index: Dict[str, torch.Tensor], relu: bool = False) -> torch.Tensor:
    """BM sampling + the (N, 1, 1) Conv3d on the cells of ``index``, as one (B*M, O) table.

    Args:
        feature: (B, C, T) features entering the BM layer.
        weight: (O, C, N, 1, 1) Conv3d weight (``x_3d_p.0.weight``).
        bias: (O,) Conv3d bias or None.
        index: the fields of :class:`BMBagIndex` as tensors on ``feature``'s device
            (see :func:`bm_bag_tensors`).
        relu: apply the ReLU that follows the Conv3d in BMN, in place.

    Returns:
        (B*M, O), row ``b*M + m`` for video b and the index's position m.
    """
    B, C, T = feature.shape
    O, C_w, N = weight.shape[:3]
    if C_w != C or weight.shape[3:] != (1, 1):
        raise ValueError(f'fused_bm_conv3d: weight of shape {tuple(weight.shape)} does not fit '
                         f'features with {C} channels (expected (O, {C}, N, 1, 1))')
    if index['row_offsets'].numel() != N * T:
        raise ValueError(f'fused_bm_conv3d: the bag index was built for another grid than '
                         f'T={T}, N={N}')
    # Channel mixing first: one GEMM gives the (B, T, N, O) table, one row per (video,
    # snippet, bin), in the layout the bags index (no re-layout copy of the table).
    mix = weight[..., 0, 0].permute(2, 0, 1).reshape(N * O, C)                # (N*O, C)
    table = channel_mix(feature, mix).reshape(B * T * N, O)
    if torch.jit.is_tracing() or not (torch.is_grad_enabled() and table.requires_grad):
        # no backward needed (inference, ONNX/TorchScript tracing): the Function's forward
        # is a plain embedding_bag, which tracers can record
        out = _sparse_sampling_forward(table, B, index)
    else:
        out = _SparseSampling.apply(table, B, index)
    if bias is not None:
        out.add_(bias.to(out.dtype))            # in place: the backward needs no output
    if relu:
        out.relu_()
    return out


def fused_bm_conv3d(feature: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                    index: Dict[str, torch.Tensor], relu: bool = False) -> torch.Tensor:
    """BM sampling followed by the (N, 1, 1) Conv3d, without the dense BM feature.

    Args:
        feature: (B, C, T) features entering the BM layer.
        weight: (O, C, N, 1, 1) Conv3d weight (``x_3d_p.0.weight``).
        bias: (O,) Conv3d bias or None.
        index: the fields of a whole-map :class:`BMBagIndex` (all T*T cells, in order) as
            tensors on ``feature``'s device (see :func:`bm_bag_tensors`).
        relu: apply the ReLU that follows the Conv3d in BMN, in place on the
            contiguous result (an in-place ReLU on the returned view would make
            autograd copy the whole gradient).

    Returns:
        (B, O, T(d), T(s)), equal to ``conv3d(dense_bm_layer(feature, W)).squeeze(2)``
        up to float summation order. The result is a permuted (channels-last) view.
    """
    B, _, T = feature.shape
    if index['bag_offsets'].numel() != T * T:
        raise ValueError(f'fused_bm_conv3d: the bag index was built for another grid than '
                         f'T={T}, N={weight.shape[2]}, or for a part of the map')
    out = fused_bm_cells(feature, weight, bias, index, relu)          # (B*T*T, O)
    # Cell-major rows viewed as (B, O, T, T) are channels-last, which CPU convs run fastest.
    return out.reshape(B, T, T, -1).permute(0, 3, 1, 2)


def bm_bag_tensors(index: BMBagIndex, device=None) -> Dict[str, torch.Tensor]:
    """The arrays of ``index`` as tensors (keys = field names), for :func:`fused_bm_conv3d`."""
    return {k: torch.as_tensor(v, device=device) for k, v in index._asdict().items()}


def dense_bm_layer(feature: torch.Tensor, sample_mask: torch.Tensor,
                   num_samples: int) -> torch.Tensor:
    """MMAction2's BM layer: (B, C, T) @ (T, N*T*T) -> (B, C, N, T, T)."""
    B, C, T = feature.shape
    if sample_mask.shape != (T, num_samples * T * T):
        raise ValueError(f'dense_bm_layer: sample_mask has shape {tuple(sample_mask.shape)}, '
                         f'expected ({T}, {num_samples * T * T}) for T={T}, N={num_samples}')
    out = torch.matmul(feature, sample_mask.to(feature.dtype))
    return out.reshape(B, C, num_samples, T, T)
