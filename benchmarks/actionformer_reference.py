"""Switch a benchmark process to the official formulation of ActionFormer / TriDet.

Only for the child processes of ``benchmarks/actionformer.py`` (one process per path, so the
switch never has to be undone): ActionFormer's local attention becomes the sliding-chunk
formulation of spec §2.4 and TriDet's Trident decoding the bin-by-bin windows of §3.4, both
from :mod:`mmloc.testing.actionformer_reference` (tested equal to the package's functions).
"""
from __future__ import annotations


def use_reference_formulation() -> None:
    """Route ``MaskedMHCA`` and ``TriDet`` to the reference functions in this process."""
    from mmloc.models.actionformer import attention
    from mmloc.models.localizers import actionformer as localizer
    from mmloc.testing.actionformer_reference import (shifted_trident_offsets,
                                                      sliding_chunk_attention)

    def chunked(q, k, v, kv_mask, window, block=None):
        return sliding_chunk_attention(q, k, v, kv_mask, window)

    attention.local_attention = chunked
    localizer.trident_offsets = shifted_trident_offsets
