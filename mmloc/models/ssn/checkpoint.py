"""Loading MMAction2 0.x SSN checkpoints (``backbone.*``, ``cls_head.{activity,completeness,
regressor}_fc.*``): the names already match ``SSN``; only wrappers and the derived
``cls_head.test_fc`` (which 0.x may have saved after testing) are dropped.
"""
from __future__ import annotations

from torch import nn


def convert_ssn_0x_state_dict(state_dict: dict) -> dict:
    """Strip ``module.`` prefixes and drop ``cls_head.test_fc.*`` (rebuilt from the fcs)."""
    out = {}
    for key, value in state_dict.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if key.startswith('cls_head.test_fc.'):
            continue
        out[key] = value
    return out


def load_ssn_checkpoint(model: nn.Module, path: str, strict: bool = True) -> dict:
    """Load a 0.x (mmcv) or mmloc (mmengine) SSN checkpoint from a local file.

    Returns ``{'missing': [...], 'unexpected': [...]}``; with ``strict`` a mismatch raises a
    ``KeyError`` naming the file and keys, and any shape mismatch raises ``ValueError``.
    """
    from mmloc.utils.checkpoint import safe_torch_load
    ckpt = safe_torch_load(path, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    state = convert_ssn_0x_state_dict(state)
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if strict and (missing or unexpected):
        raise KeyError(f'{path}: SSN checkpoint keys do not match: missing {missing[:5]}, '
                       f'unexpected {unexpected[:5]}')
    for key in set(own) & set(state):
        if tuple(own[key].shape) != tuple(state[key].shape):
            raise ValueError(f'{path}: {key}: shape {tuple(state[key].shape)}, expected '
                             f'{tuple(own[key].shape)}')
    model.load_state_dict(state, strict=False)
    return dict(missing=missing, unexpected=unexpected)
