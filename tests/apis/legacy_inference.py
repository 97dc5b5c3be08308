"""The inference_localizer of mmloc before LocalizationInferencer (commit e7182da), kept
verbatim as the reference the inferencer must reproduce bit for bit (it built the data sample
by hand)."""
from __future__ import annotations

import os
from typing import List, Optional, Union

import numpy as np
import torch

from mmloc.datasets.transforms.loading import read_feature_file
from mmloc.datasets.transforms.resample import resample_feature
from mmloc.structures import LocalizationDataSample


def _temporal_dim(model) -> int:
    for name in ('tscale', 'temporal_dim'):
        if hasattr(model, name):
            return int(getattr(model, name))
    raise TypeError(f'{type(model).__name__}: cannot tell the temporal window of this model')


@torch.no_grad()
def legacy_inference_localizer(model, features: Union[str, np.ndarray], duration_s: Optional[float] = None,
                        fps: Optional[float] = None, frames_per_snippet: int = 16,
                        video_name: str = 'v_input') -> List[dict]:
    """Proposals of one video, in seconds.

    Args:
        model: from :func:`init_localizer`.
        features: a feature file (``.csv`` with header or ``.npy``) or an array (L, C), one
            row per snippet covering the whole video. L may differ from the model's window:
            the sequence is resampled to it (spec §1.1 rule).
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
    temporal_dim = _temporal_dim(model)
    feat_dim = getattr(model, 'feat_dim', feat.shape[1])
    if feat.shape[1] != feat_dim:
        raise ValueError(f'{source}: expected {feat_dim} feature columns (one row per '
                         f'snippet), got {feat.shape[1]}')
    if duration_s is None:
        if fps is None:
            raise ValueError('give duration_s, or fps (with frames_per_snippet) to map the '
                             'proposals back to seconds')
        duration_s = feat.shape[0] * frames_per_snippet / fps
    if feat.shape[0] != temporal_dim:
        feat = resample_feature(feat, temporal_dim)
    sample = LocalizationDataSample()
    # duration_frame a multiple of the extraction interval: outputs scale by duration_s exactly
    interval = getattr(model, 'feature_extraction_interval', 16)
    sample.set_metainfo(dict(video_name=video_name, duration_second=float(duration_s),
                             duration_frame=interval * temporal_dim,
                             feature_frame=interval * temporal_dim))
    device = next(model.parameters()).device
    inputs = [torch.from_numpy(np.ascontiguousarray(feat.T)).to(device)]
    out = model(inputs, [sample], mode='predict')[0]
    if 'pred_instances' not in out:
        # e.g. BSN's TEM gives boundary curves; its proposals need PGM + PEM (tools/test.py)
        raise TypeError(f'{type(model).__name__}: predict() gives no proposals '
                        '(pred_instances); inference_localizer supports proposal models '
                        'that take snippet features, such as BMN')
    pred = out.pred_instances
    segments = pred.segments.cpu().numpy() if hasattr(pred.segments, 'cpu') else pred.segments
    scores = pred.scores.cpu().numpy() if hasattr(pred.scores, 'cpu') else pred.scores
    return [{'score': float(s), 'segment': [float(a), float(b)]}
            for (a, b), s in zip(segments, scores)]
