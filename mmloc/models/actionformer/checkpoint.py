"""Official ActionFormer / TriDet checkpoints -> mmloc (spec §2.8).

Upstream saves ``{'epoch', 'state_dict', 'scheduler', 'optimizer', 'state_dict_ema'}``
with every key prefixed ``module.`` (``nn.DataParallel``); evaluation uses
``state_dict_ema``. mmloc's module names are upstream's, so the key map is that prefix;
points and the PE table are non-persistent on both sides.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

UPSTREAM_PREFIX = 'module.'


def is_upstream_checkpoint(ckpt: Mapping) -> bool:
    """True for an upstream training checkpoint (``state_dict`` + ``state_dict_ema``)."""
    return isinstance(ckpt, Mapping) and 'state_dict_ema' in ckpt and 'state_dict' in ckpt


def map_upstream_keys(state_dict: Mapping, prefix: str = '') -> OrderedDict:
    """Upstream key ``module.X`` -> ``prefix + X`` (other keys unchanged)."""
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(UPSTREAM_PREFIX):
            key = prefix + key[len(UPSTREAM_PREFIX):]
        out[key] = value
    return out


def upgrade_state_dict_in_place(state_dict: dict, prefix: str = '') -> None:
    """``_load_from_state_dict`` pre-hook: rewrite upstream keys under ``prefix``."""
    old = [k for k in state_dict if k.startswith(prefix + UPSTREAM_PREFIX)]
    for key in old:
        state_dict[prefix + key[len(prefix) + len(UPSTREAM_PREFIX):]] = state_dict.pop(key)


def convert_upstream_checkpoint(ckpt: Mapping, use_ema: bool = True) -> dict:
    """An upstream checkpoint -> ``{'state_dict': ..., 'meta': ...}`` for mmloc.

    ``use_ema`` picks ``state_dict_ema`` (what upstream evaluates), else ``state_dict``.
    A bare state dict (keys ``module.…``) is accepted too.
    """
    if is_upstream_checkpoint(ckpt):
        source = ckpt['state_dict_ema'] if use_ema else ckpt['state_dict']
        meta = dict(epoch=ckpt.get('epoch'), upstream_weights='state_dict_ema' if use_ema
                    else 'state_dict')
    elif isinstance(ckpt, Mapping) and all(isinstance(k, str) for k in ckpt):
        source, meta = ckpt, dict(upstream_weights='bare state dict')
    else:
        raise ValueError('not an ActionFormer / TriDet checkpoint: expected a dict with '
                         "'state_dict' and 'state_dict_ema', or a state dict")
    return dict(state_dict=map_upstream_keys(source), meta=meta)
