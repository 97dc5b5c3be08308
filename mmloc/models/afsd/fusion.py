"""RGB + flow fusion checkpoints (spec §5.3): one ``AFSD(fusion_net=...)`` state from two
single-stream AFSD checkpoints: mmloc ``.pth`` files, or the official release's
``checkpoint-<epoch>.ckpt`` files (bare ``BDNet`` state dicts, renamed by
:mod:`.original_checkpoint`). Checkpoints of the network before its neck/head split are renamed
to the current layout too.

The fused model keeps the RGB network under ``net.*`` and the flow network under
``fusion_net.*``; each single-stream checkpoint holds its network under ``net.*``. Merging is
strict: every tensor of both files is used, the two files must describe the same network
(up to the input channels of the backbone's first layer) and, when a model is given, the
merged state must fit it key for key and shape for shape. Errors name the file at fault.
"""
from __future__ import annotations

import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch

from mmloc.utils.checkpoint import safe_torch_load

from .i3d import InceptionI3d
from .neck import AFSDFeaturePyramid
from .net import upgrade_afsd_state_dict
from .original_checkpoint import convert_original_afsd_state_dict
from .tiny_backbone import TinyVideoBackbone

STREAM_PREFIX = 'net.'
FUSION_PREFIX = 'fusion_net.'

#: the network's input layer (dimension 1 = input channels: 3 RGB, 2 flow), by backbone; the
#: only tensors whose shapes may differ between the two streams. Found by name, never by the
#: position of a key in a file (the original release saves the head before the backbone).
INPUT_LAYERS = ('backbone.' + InceptionI3d.INPUT_LAYER,
                'backbone.' + TinyVideoBackbone.INPUT_LAYER,
                'neck.' + AFSDFeaturePyramid.INPUT_LAYER)


def input_layer_keys(state: Dict[str, torch.Tensor], prefix: str = STREAM_PREFIX) -> list:
    """The keys of ``state`` that are a network's input layer (:data:`INPUT_LAYERS` at
    ``prefix``). A feature network's ``neck.level0`` counts only when it has no backbone."""
    has_backbone = any(k.startswith(prefix + 'backbone.') for k in state)
    return [prefix + name for name in INPUT_LAYERS
            if prefix + name in state and name.startswith('backbone.') == has_backbone]


def read_stream_checkpoint(path: str, stream: str) -> Tuple[Dict[str, torch.Tensor], dict]:
    """The ``net.*`` tensors and the ``meta`` of a single-stream AFSD checkpoint.

    Args:
        path: an mmengine checkpoint (``{'state_dict': ..., 'meta': ...}``), a bare
            state dict of ``AFSD`` without ``fusion_net``, or an official AFSD
            ``checkpoint-<epoch>.ckpt`` (a bare ``BDNet`` state dict; renamed to ``net.*``).
        stream: ``'RGB'`` or ``'flow'``, for the error messages.

    Raises:
        ValueError: the file holds no AFSD single-stream state (already fused, or another
            model), naming ``path``.
    """
    ckpt = safe_torch_load(path, map_location='cpu')
    if not isinstance(ckpt, dict):
        raise ValueError(f'{path}: {stream} checkpoint: expected a dict, got {type(ckpt).__name__}')
    state = ckpt.get('state_dict', ckpt)
    meta = ckpt.get('meta', {}) if 'state_dict' in ckpt else {}
    state = OrderedDict((re.sub(r'^module\.', '', k), v) for k, v in state.items())
    # the official release's BDNet (its train.py saves ``model.module.state_dict()``)
    convert_original_afsd_state_dict(state, target=STREAM_PREFIX)
    if not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f'{path}: {stream} checkpoint: no tensors under "state_dict"')
    fused = [k for k in state if k.startswith(FUSION_PREFIX)]
    if fused:
        raise ValueError(f'{path}: {stream} checkpoint already holds a fused model '
                         f'({len(fused)} "{FUSION_PREFIX}*" tensors); give the single-stream '
                         f'{stream} checkpoint')
    other = [k for k in state if not k.startswith(STREAM_PREFIX)]
    if other:
        raise ValueError(f'{path}: {stream} checkpoint is not a single-stream AFSD checkpoint: '
                         f'{len(other)} tensors outside "{STREAM_PREFIX}*", e.g. {other[:3]}')
    # checkpoints of the pre-split network (head parameters directly under ``net.``)
    upgrade_afsd_state_dict(state, STREAM_PREFIX)
    return state, meta if isinstance(meta, dict) else {}


def merge_fusion_state_dicts(rgb: Dict[str, torch.Tensor], flow: Dict[str, torch.Tensor],
                             rgb_name: str = 'RGB', flow_name: str = 'flow'
                             ) -> 'OrderedDict[str, torch.Tensor]':
    """``net.*`` from ``rgb`` and ``fusion_net.*`` from ``flow`` (renamed ``net.`` -> ``fusion_net.``).

    Both must hold the same keys with the same shapes, except dimension 1 (input channels)
    of the input layer (:func:`input_layer_keys`, found by name: the backbone's first conv,
    3 RGB channels vs 2 flow channels). Key order does not matter; the output follows ``rgb``'s.

    Raises:
        ValueError: naming ``rgb_name`` / ``flow_name`` and the keys that do not match.
    """
    only_rgb = [k for k in rgb if k not in flow]
    only_flow = [k for k in flow if k not in rgb]
    if only_rgb or only_flow:
        raise ValueError(f'{rgb_name} and {flow_name} are not the same AFSD network: '
                         f'{len(only_rgb)} keys only in {rgb_name} (e.g. {only_rgb[:3]}), '
                         f'{len(only_flow)} only in {flow_name} (e.g. {only_flow[:3]})')
    inputs = input_layer_keys(rgb)
    for key, a in rgb.items():
        b = flow[key]
        same = a.shape == b.shape or (key in inputs and a.ndim == b.ndim >= 2 and
                                      a.shape[:1] + a.shape[2:] == b.shape[:1] + b.shape[2:])
        if not same:
            allowed = (f'only the input channels of {inputs[0]} may differ' if inputs else
                       'no input layer found by name')
            raise ValueError(f'{rgb_name} and {flow_name} are not the same AFSD network: '
                             f'{key} is {tuple(a.shape)} in {rgb_name} but {tuple(b.shape)} in '
                             f'{flow_name} ({allowed})')
    merged = OrderedDict(rgb)
    merged.update((FUSION_PREFIX + k[len(STREAM_PREFIX):], v) for k, v in flow.items())
    return merged


def check_fusion_state_fits(state: Dict[str, torch.Tensor], model: torch.nn.Module,
                            rgb_name: str = 'RGB', flow_name: str = 'flow') -> None:
    """Load ``state`` into ``model`` (an ``AFSD`` with ``fusion_net``) strictly.

    Raises:
        ValueError: missing, unexpected or reshaped tensors, each reported against the file
            it comes from (``net.*``: ``rgb_name``; ``fusion_net.*``: ``flow_name``).
    """
    if getattr(model, 'fusion_net', None) is None:
        raise ValueError(f'the model {type(model).__name__} has no fusion_net: use a fusion '
                         f'config (e.g. afsd_i3d_thumos14_fusion.py)')
    own = model.state_dict()

    def source(key: str) -> str:
        return flow_name if key.startswith(FUSION_PREFIX) else rgb_name

    problems = []
    # the input layers: a channel mismatch there usually means swapped files
    inputs = set(input_layer_keys(own, STREAM_PREFIX) + input_layer_keys(own, FUSION_PREFIX))
    for key in own:
        if key not in state:
            problems.append(f'{source(key)}: missing {key} {tuple(own[key].shape)}')
    for key, value in state.items():
        if key not in own:
            problems.append(f'{source(key)}: unexpected {key}')
        elif own[key].shape != value.shape:
            hint = ''
            if key in inputs and value.ndim == own[key].ndim >= 2 and \
                    value.shape[1] != own[key].shape[1]:
                hint = (f' (its input layer takes {value.shape[1]} channels, the model\'s '
                        f'{own[key].shape[1]}: are the RGB and flow files swapped?)')
            problems.append(f'{source(key)}: {key} is {tuple(value.shape)}, the model needs '
                            f'{tuple(own[key].shape)}{hint}')
    if problems:
        shown = '; '.join(problems[:5]) + (f'; and {len(problems) - 5} more'
                                           if len(problems) > 5 else '')
        raise ValueError(f'the merged checkpoint does not fit the fusion model of the config: '
                         f'{shown}')
    model.load_state_dict(state, strict=True)


def _same_classes(rgb_meta: dict, flow_meta: dict, rgb_name: str, flow_name: str):
    a = (rgb_meta.get('dataset_meta') or {}).get('classes')
    b = (flow_meta.get('dataset_meta') or {}).get('classes')
    if a is not None and b is not None and tuple(a) != tuple(b):
        raise ValueError(f'{rgb_name} was trained on classes {tuple(a)} but {flow_name} on '
                         f'{tuple(b)}; fusion needs the same class list')


def merge_fusion_checkpoints(rgb_path: str, flow_path: str,
                             model: Optional[torch.nn.Module] = None) -> dict:
    """The fused checkpoint ``{'state_dict', 'meta'}`` of two single-stream AFSD checkpoints.

    Args:
        rgb_path: RGB checkpoint (goes to ``net.*``).
        flow_path: flow checkpoint (goes to ``fusion_net.*``).
        model: optional ``AFSD(fusion_net=...)``; the merged state is loaded into it strictly.

    Returns:
        a checkpoint that ``tools/test.py`` loads strictly into the fusion config's model;
        ``meta.fusion`` records both source files and their epochs, and ``meta.dataset_meta``
        is the RGB checkpoint's (class list checked equal to the flow one's).
    """
    rgb, rgb_meta = read_stream_checkpoint(rgb_path, 'RGB')
    flow, flow_meta = read_stream_checkpoint(flow_path, 'flow')
    _same_classes(rgb_meta, flow_meta, rgb_path, flow_path)
    merged = merge_fusion_state_dicts(rgb, flow, rgb_path, flow_path)
    if model is not None:
        check_fusion_state_fits(merged, model, rgb_path, flow_path)
    meta = dict(fusion=dict(rgb=osp.abspath(rgb_path), flow=osp.abspath(flow_path),
                            rgb_epoch=rgb_meta.get('epoch'), flow_epoch=flow_meta.get('epoch')))
    if 'dataset_meta' in rgb_meta:
        meta['dataset_meta'] = rgb_meta['dataset_meta']
    return dict(state_dict=merged, meta=meta)
