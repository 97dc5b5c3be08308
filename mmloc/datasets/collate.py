"""``localization_collate``: batch variable-length (C, T) feature sequences with a mask."""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS

from mmloc.registry import FUNCTIONS


def padded_length(longest: int, pad_to_length: Optional[int] = None, pad_to_multiple: int = 1,
                  min_length: Optional[int] = None) -> int:
    """T_pad for a batch whose longest sequence has ``longest`` steps (see :func:`pad_sequences`).

    ``min_length``: ActionFormer's inference rule (actionformer-spec §1.6): ``min_length``
    when ``longest <= min_length``, else ``longest`` rounded up to ``pad_to_multiple``.
    """
    if pad_to_length is not None:
        if longest > pad_to_length:
            raise ValueError(f'localization_collate: a sequence has {longest} steps, more than '
                             f'pad_to_length={pad_to_length}; crop it or use sliding windows '
                             '(FeatureDataset(fit_mode=...))')
        return int(pad_to_length)
    if min_length is not None and longest <= min_length:
        return int(min_length)
    return int(math.ceil(longest / pad_to_multiple) * pad_to_multiple)


def pad_sequences(sequences: Sequence[torch.Tensor], pad_to_length: Optional[int] = None,
                  pad_to_multiple: int = 1, pad_value: float = 0.0,
                  min_length: Optional[int] = None) -> tuple:
    """Right-pad (C, T_i) sequences to one length.

    Args:
        sequences: B tensors (C, T_i), same C.
        pad_to_length: pad every sequence to exactly this T (an error if one is longer);
            None pads to the longest, rounded up to ``pad_to_multiple``.
        pad_value: value of the padded positions.
        min_length: with ``pad_to_length=None``: pad to ``min_length`` when every sequence
            fits, else to the longest rounded up to ``pad_to_multiple`` (ActionFormer's
            inference padding, actionformer-spec §1.6).

    Returns:
        ``inputs`` (B, C, T_pad) and ``mask`` (B, T_pad) bool, True on valid positions.
    """
    lengths = [int(s.shape[-1]) for s in sequences]
    channels = {int(s.shape[0]) for s in sequences}
    if len(channels) != 1:
        raise ValueError(f'localization_collate: feature widths differ in one batch: '
                         f'{sorted(channels)}')
    target = padded_length(max(lengths), pad_to_length, pad_to_multiple, min_length)
    first = sequences[0]
    inputs = first.new_full((len(sequences), first.shape[0], target), pad_value)
    mask = torch.zeros(len(sequences), target, dtype=torch.bool)
    for i, (seq, n) in enumerate(zip(sequences, lengths)):
        inputs[i, :, :n] = seq
        mask[i, :n] = True
    return inputs, mask


def localization_collate(data_batch: Sequence[dict], pad_to_length: Optional[int] = None,
                         pad_to_multiple: int = 1, pad_value: float = 0.0,
                         min_length: Optional[int] = None) -> dict:
    """Collate packed samples; (C, T) feature inputs become one padded tensor plus masks.

    ``inputs``: (B, C, T_pad) when every sample is a (C, T_i) feature sequence (packed from
    ``raw_feature``: its metainfo has ``valid_length`` = T_i; each data sample gets
    ``input_mask`` (T_pad,)); otherwise a stacked tensor when all inputs share a shape, else
    the list (e.g. frames or proposal features of different lengths). ``data_samples``: the
    list.

    Config: ``collate_fn=dict(type='localization_collate', pad_to_length=None,
    pad_to_multiple=1, min_length=None)`` (:func:`pad_sequences`).
    """
    batch = pseudo_collate(list(data_batch))
    inputs, samples = batch['inputs'], batch['data_samples']
    if all(isinstance(x, torch.Tensor) and x.dim() == 2 and 'valid_length' in s
           for x, s in zip(inputs, samples)):
        padded, mask = pad_sequences(inputs, pad_to_length, pad_to_multiple, pad_value,
                                     min_length)
        for sample, sample_mask in zip(samples, mask):
            sample.input_mask = sample_mask
        return dict(inputs=padded, data_samples=samples)
    if all(isinstance(x, torch.Tensor) for x in inputs) and \
            len({tuple(x.shape) for x in inputs}) == 1:
        return dict(inputs=torch.stack(inputs), data_samples=samples)
    return dict(inputs=inputs, data_samples=samples)


# mmengine's Runner looks collate functions up in its root FUNCTIONS registry without the
# default scope, so the plain name must be known there too (a new name, nothing replaced).
FUNCTIONS.register_module(module=localization_collate)
if MMENGINE_FUNCTIONS.get('localization_collate') is None:
    MMENGINE_FUNCTIONS.register_module(module=localization_collate)
