"""Fusion checkpoint files (spec §5.3): merge an RGB and a flow AFSD checkpoint into the
checkpoint of a fusion config's ``AFSD(fusion_net=...)``, checked against that config's model.

The state-dict merging itself is model code (:mod:`mmloc.models.afsd.fusion`); this module adds
what needs configs and files: building the fusion model of a config and writing the result.
CLI: ``tools/misc/merge_afsd_fusion_checkpoint.py``.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

import torch

from mmloc.engine import load_config
from mmloc.models.afsd.fusion import merge_fusion_checkpoints
from mmloc.registry import MODELS
from mmloc.utils import register_all_modules


def build_model_without_pretrained(config: str) -> torch.nn.Module:
    """The model of ``config``, on CPU, for checking a checkpoint that holds all of it.

    Backbone ``pretrained`` paths are ignored: the checkpoint overrides them anyway.
    """
    register_all_modules()
    model_cfg = load_config(config).model.to_dict()

    def drop_pretrained(cfg):
        if isinstance(cfg, dict):
            return {k: None if k == 'pretrained' else drop_pretrained(v) for k, v in cfg.items()}
        return cfg

    return MODELS.build(drop_pretrained(model_cfg))


def build_fusion_model(config: str) -> torch.nn.Module:
    """The ``AFSD(fusion_net=...)`` of a fusion config, on CPU, for checking a merged state.

    Backbone ``pretrained`` paths are ignored: the merged checkpoint holds the whole model.
    """
    model = build_model_without_pretrained(config)
    if getattr(model, 'fusion_net', None) is None:
        raise ValueError(f'{config}: the config\'s model has no fusion_net; use a fusion config '
                         f'such as configs/localization/afsd/afsd_i3d_thumos14_fusion.py')
    return model


def save_checkpoint_atomic(ckpt: dict, out_path: str) -> None:
    """``torch.save`` to a temporary file next to ``out_path``, then rename it into place."""
    out_dir = osp.dirname(osp.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    tmp = osp.join(out_dir, f'.{osp.basename(out_path)}.tmp{os.getpid()}')
    try:
        torch.save(ckpt, tmp)
        os.replace(tmp, out_path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def merge_fusion_checkpoint_files(rgb_path: str, flow_path: str, out_path: str,
                                  config: Optional[str] = None) -> dict:
    """Merge two single-stream checkpoints into ``out_path`` (written atomically).

    With ``config``, the merged state is first loaded strictly into that config's fusion model.
    Returns the written checkpoint.
    """
    model = build_fusion_model(config) if config is not None else None
    ckpt = merge_fusion_checkpoints(rgb_path, flow_path, model)
    save_checkpoint_atomic(ckpt, out_path)
    return ckpt
