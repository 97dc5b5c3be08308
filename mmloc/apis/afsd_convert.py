"""Convert a checkpoint of the official AFSD release to an mmloc checkpoint (spec §2-§4).

``tools/test.py`` and the fusion merger load the original ``checkpoint-<epoch>.ckpt`` files
directly (a load hook renames their keys, :mod:`mmloc.models.afsd.original_checkpoint`); this
writes the renamed file once, checked strictly against a config's model, for users who want
an ``{'state_dict': {'net.*': ...}, 'meta': ...}`` file. CLI:
``tools/misc/convert_afsd_checkpoint.py``.
"""
from __future__ import annotations

import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

from mmloc.models.afsd.original_checkpoint import (ORIGINAL_ROOTS, convert_original_afsd_state_dict,
                                                   is_original_afsd_state_dict)
from mmloc.utils.checkpoint import safe_torch_load
from .afsd_fusion import build_model_without_pretrained, save_checkpoint_atomic

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the config a converted file is checked against, by the input channels of its first layer
DEFAULT_CONFIGS = {3: 'configs/localization/afsd/afsd_i3d_thumos14_rgb.py',
                   2: 'configs/localization/afsd/afsd_i3d_thumos14_flow.py'}
INPUT_KEY = 'net.backbone.Conv3d_1a_7x7.conv3d.weight'


def read_original_checkpoint(path: str) -> 'OrderedDict[str, torch.Tensor]':
    """The tensors of an official AFSD checkpoint, renamed to ``AFSD``'s ``net.*`` keys.

    Raises:
        ValueError: naming ``path``: not a state dict, no original ``BDNet`` tensors (for
            example an mmloc checkpoint, which needs no conversion), tensors outside ``BDNet``,
            or original tensors the key map does not know.
    """
    ckpt = safe_torch_load(path, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise ValueError(f'{path}: expected a state dict, got {type(ckpt).__name__}')
    state = ckpt.get('state_dict', ckpt)
    if not isinstance(state, dict) or not state or \
            not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'{path}: expected a state dict of tensors')
    state = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state.items())
    if not is_original_afsd_state_dict(state):
        raise ValueError(f'{path}: not a checkpoint of the original AFSD release: no tensors '
                         f'under {", ".join(r + "*" for r in ORIGINAL_ROOTS)} (e.g. '
                         f'{list(state)[:3]}); an mmloc checkpoint needs no conversion')
    other = [k for k in state if not k.startswith(ORIGINAL_ROOTS)]
    if other:
        raise ValueError(f'{path}: {len(other)} tensors outside the original BDNet, e.g. '
                         f'{other[:3]}')
    convert_original_afsd_state_dict(state, target='net.')
    unknown = [k[len('net.'):] for k in state if k[len('net.'):].startswith(ORIGINAL_ROOTS)]
    if unknown:
        raise ValueError(f'{path}: {len(unknown)} tensors of the original BDNet have no mmloc '
                         f'name (another version of AFSD?), e.g. {unknown[:3]}')
    return state


def check_state_fits(state: Dict[str, torch.Tensor], model: torch.nn.Module, name: str,
                     config: str) -> 'OrderedDict[str, torch.Tensor]':
    """``state`` in ``model``'s key order, after loading it into ``model`` strictly.

    Raises:
        ValueError: missing, unexpected or reshaped tensors, naming ``name`` and ``config``.
    """
    own = model.state_dict()
    problems = [f'missing {k} {tuple(v.shape)}' for k, v in own.items() if k not in state]
    problems += [f'unexpected {k}' for k in state if k not in own]
    problems += [f'{k} is {tuple(v.shape)}, the model needs {tuple(own[k].shape)}'
                 for k, v in state.items() if k in own and own[k].shape != v.shape]
    if problems:
        shown = '; '.join(problems[:5]) + (f'; and {len(problems) - 5} more'
                                           if len(problems) > 5 else '')
        raise ValueError(f'{name}: the converted checkpoint does not fit the model of {config} '
                         f'(give the matching --config): {shown}')
    model.load_state_dict(state, strict=True)
    return OrderedDict((k, state[k]) for k in own)


def convert_original_checkpoint_file(src: str, out_path: str,
                                     config: Optional[str] = None) -> dict:
    """Convert ``src`` (an official ``checkpoint-<epoch>.ckpt``) and write ``out_path``.

    Args:
        config: the config whose model the result must fit strictly; by default the THUMOS14
            RGB or flow config, chosen by the input channels of the I3D's first layer (3 / 2).

    Returns:
        the written ``{'state_dict', 'meta'}``; ``meta.converted_from`` is ``src``.
    """
    state = read_original_checkpoint(src)
    if config is None:
        channels = state[INPUT_KEY].shape[1] if INPUT_KEY in state else None
        if channels not in DEFAULT_CONFIGS:
            raise ValueError(f'{src}: input layer {INPUT_KEY} takes {channels} channels; give '
                             f'--config (defaults exist for 3 = RGB and 2 = flow)')
        config = osp.join(REPO, DEFAULT_CONFIGS[channels])
    model = build_model_without_pretrained(config)
    if getattr(model, 'fusion_net', None) is not None:
        raise ValueError(f'{config}: a fusion config; convert each stream with its own config, '
                         f'then merge them with tools/misc/merge_afsd_fusion_checkpoint.py')
    state = check_state_fits(state, model, src, config)
    ckpt = dict(state_dict=state, meta=dict(converted_from=osp.abspath(src),
                                            config=osp.abspath(config)))
    save_checkpoint_atomic(ckpt, out_path)
    return ckpt
