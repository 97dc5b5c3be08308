"""Key map from the official AFSD release's checkpoints to ``AFSDNet`` (spec §2-§4).

The original ``AFSD/thumos14/train.py`` saves ``model.module.state_dict()`` of its ``BDNet``
(the ``DataParallel`` wrapper is unwrapped, so there is no ``module.`` prefix) as
``checkpoint-<epoch>.ckpt``. Its 442 tensors are ours under other names, with the same
shapes and values:

* ``backbone._model.<I3D key>`` -> ``backbone.<I3D key>`` (pytorch-i3d names, no ``logits``);
* ``...pyramids.{0,1}.0.conv3d.*`` / ``...pyramids.{0,1}.1.*`` -> ``neck.level{0,1}.*`` /
  ``neck.level{0,1}_gn.*``;
* ``...pyramids.<i>.0.*`` / ``...pyramids.<i>.1.*`` (``i >= 2``) -> ``neck.down.<i-2>.conv.*`` /
  ``neck.down.<i-2>.gn.*``;
* ``...deconv.<3j>.*`` / ``...deconv.<3j+1>.*`` -> ``head.frame_layers.<j>.conv.*`` / ``.gn.*``;
* ``...{loc,conf}_tower.<i>.0.*`` / ``.<i>.1.*`` -> ``head.{loc,conf}_tower.<i>.conv.*`` /
  ``.gn.*``;
* ``...<x>_proposal_branch.{cur_point_conv,lr_conv}`` -> the same names under ``head.``;
* ``...<x>_proposal_branch.roi_conv`` (512 -> 512, on ``G``) ->
  ``head.<x>_proposal_branch.boundary_conv``;
* ``...<x>_proposal_branch.proposal_conv`` (2048 -> 512) -> ``head.<x>_proposal_branch.roi_conv``;
* ``...{loc,conf,prop_loc,prop_conf,center}_head.*`` -> the same names under ``head.``;
* ``...loc_heads.<i>.scale`` -> ``head.scales.<i>.scale``.

(``...`` is ``coarse_pyramid_detection.``; inside a proposal branch, ``<conv>.0.*`` is the
``Unit1D`` and ``<conv>.1.*`` the GroupNorm, ours ``<conv>.conv.*`` / ``<conv>.gn.*``.) Note the
swap: the original's ``roi_conv`` is our ``boundary_conv`` and its ``proposal_conv`` our
``roi_conv``.
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple

#: first components of an original ``BDNet`` state dict's keys
ORIGINAL_ROOTS = ('coarse_pyramid_detection.', 'backbone._model.')

_CPD = r'coarse_pyramid_detection\.'
_BRANCH_CONV = dict(cur_point_conv='cur_point_conv', lr_conv='lr_conv',
                    roi_conv='boundary_conv', proposal_conv='roi_conv')
_PART = {'0': 'conv', '1': 'gn'}  # Sequential(Unit1D/Unit3D, GroupNorm, ReLU)


def _pyramid(m: re.Match) -> Optional[str]:
    level, part, rest = int(m['level']), m['part'], m['rest']
    if level < 2:
        if part == '0':   # Unit3D: its conv3d is our plain Conv3d
            return f'neck.level{level}.{rest[len("conv3d."):]}' \
                if rest.startswith('conv3d.') else None
        return f'neck.level{level}_gn.{rest}'
    return f'neck.down.{level - 2}.{_PART[part]}.{rest}'


def _deconv(m: re.Match) -> Optional[str]:
    index = int(m['index'])
    if index % 3 == 2:    # the ReLUs hold no tensors
        return None
    return f'head.frame_layers.{index // 3}.{"conv" if index % 3 == 0 else "gn"}.{m["rest"]}'


_RULES: List[Tuple[re.Pattern, Callable[[re.Match], Optional[str]]]] = [
    (re.compile(r'backbone\._model\.(?P<rest>.+)'), lambda m: f'backbone.{m["rest"]}'),
    (re.compile(_CPD + r'pyramids\.(?P<level>\d+)\.(?P<part>[01])\.(?P<rest>.+)'), _pyramid),
    (re.compile(_CPD + r'deconv\.(?P<index>\d+)\.(?P<rest>.+)'), _deconv),
    (re.compile(_CPD + r'(?P<tower>loc_tower|conf_tower)\.(?P<i>\d+)\.(?P<part>[01])\.'
                r'(?P<rest>.+)'),
     lambda m: f'head.{m["tower"]}.{m["i"]}.{_PART[m["part"]]}.{m["rest"]}'),
    (re.compile(_CPD + r'(?P<branch>loc|conf)_proposal_branch\.'
                r'(?P<conv>cur_point_conv|lr_conv|roi_conv|proposal_conv)\.(?P<part>[01])\.'
                r'(?P<rest>.+)'),
     lambda m: (f'head.{m["branch"]}_proposal_branch.{_BRANCH_CONV[m["conv"]]}.'
                f'{_PART[m["part"]]}.{m["rest"]}')),
    (re.compile(_CPD + r'(?P<name>(?:loc|conf|prop_loc|prop_conf|center)_head\..+)'),
     lambda m: f'head.{m["name"]}'),
    (re.compile(_CPD + r'loc_heads\.(?P<i>\d+)\.scale'), lambda m: f'head.scales.{m["i"]}.scale'),
]


def original_afsd_key(key: str) -> Optional[str]:
    """The ``AFSDNet`` name of a key of the original ``BDNet`` (both relative to their
    networks), or None if ``key`` is not one of the original's tensors."""
    for pattern, rename in _RULES:
        m = pattern.fullmatch(key)
        if m:
            return rename(m)
    return None


def is_original_afsd_state_dict(state_dict: dict, prefix: str = '') -> bool:
    """Whether ``state_dict`` holds an original ``BDNet``'s tensors at ``prefix``."""
    return any(k.startswith(prefix + root) for k in state_dict for root in ORIGINAL_ROOTS)


def convert_original_afsd_state_dict(state_dict: dict, prefix: str = '',
                                     target: str = '') -> dict:
    """Rename, in place and keeping the key order, every original ``BDNet`` key at ``prefix``:
    ``{prefix}<original key>`` -> ``{prefix}{target}<AFSDNet key>``.

    Args:
        state_dict: a state dict; keys not of the original layout are left alone.
        prefix: where the original network sits in ``state_dict`` ('' for its own file).
        target: where ``AFSDNet`` sits below ``prefix`` ('' for ``AFSDNet`` itself, ``'net.'``
            for the ``AFSD`` localizer).

    Keys under an original root that the map does not know are moved below ``target``
    unrenamed, so a strict load reports them as unexpected. Returns ``state_dict``.
    """
    if not is_original_afsd_state_dict(state_dict, prefix):
        return state_dict
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        rest = key[len(prefix):] if key.startswith(prefix) else None
        if rest is not None and rest.startswith(ORIGINAL_ROOTS):
            key = prefix + target + (original_afsd_key(rest) or rest)
        state_dict[key] = value
    return state_dict
