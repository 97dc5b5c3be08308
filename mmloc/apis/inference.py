"""One-call inference: build a localizer from config + checkpoint, run it on features.

Both functions are thin over :class:`~mmloc.apis.LocalizationInferencer` (the config's test
pipeline -> collate -> ``test_step``); they keep the signatures and outputs they always had.
"""
from __future__ import annotations

import os
from typing import List, Optional, Union

import numpy as np
import torch
from mmengine.config import Config

from mmloc.datasets.transforms.loading import read_feature_file
from .inferencer import LocalizationInferencer, build_localizer


def init_localizer(config: Union[str, Config], checkpoint: Optional[str] = None,
                   device: str = 'cpu', cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build the model of ``config`` and load ``checkpoint`` strictly.

    Args:
        config: config file path or :class:`Config`.
        checkpoint: mmloc or MMAction2 (0.x / 1.x) checkpoint; None keeps random weights.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
    """
    cfg = Config.fromfile(config) if isinstance(config, (str, os.PathLike)) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return build_localizer(cfg, checkpoint, device)


@torch.no_grad()
def inference_localizer(model, features: Union[str, np.ndarray], duration_s: Optional[float] = None,
                        fps: Optional[float] = None, frames_per_snippet: int = 16,
                        video_name: str = 'v_input') -> List[dict]:
    """Proposals of one video, in seconds.

    Args:
        model: from :func:`init_localizer`.
        features: a feature file (``.csv`` with header, ``.npy``, ``.npz``, ``.pt``) or an
            array (L, C), one row per snippet covering the whole video. L may differ from the
            model's window: the sequence is resampled to it (spec §1.1 rule).
        duration_s: video length in seconds. If None it is ``L * frames_per_snippet / fps``.

    Returns:
        ``[{'score': float, 'segment': [start_s, end_s]}, ...]`` sorted by score.
    """
    source = os.fspath(features) if isinstance(features, (str, os.PathLike)) else 'features'
    feat = read_feature_file(source) if source != 'features' \
        else np.asarray(features, dtype=np.float32)
    if feat.ndim != 2 or feat.shape[0] == 0:
        raise ValueError(f'{source}: expected a (L, C) feature array with L >= 1, '
                         f'got shape {feat.shape}')
    feat_dim = getattr(model, 'feat_dim', feat.shape[1])
    if feat.shape[1] != feat_dim:
        raise ValueError(f'{source}: expected {feat_dim} feature columns (one row per '
                         f'snippet), got {feat.shape[1]}')
    if duration_s is None and fps is None:
        raise ValueError('give duration_s, or fps (with frames_per_snippet) to map the '
                         'proposals back to seconds')
    # an inferencer around the model is cheap (the dataset is built lazily, nothing is read)
    inferencer = LocalizationInferencer(model, show_progress=False)
    out = inferencer(dict(input=feat, video_name=video_name, duration_s=duration_s, fps=fps,
                          frames_per_snippet=frames_per_snippet))
    pred = out['predictions'][0]
    return [{'score': s, 'segment': seg} for seg, s in zip(pred['segments'], pred['scores'])]
