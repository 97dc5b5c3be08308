"""A video's extracted features -> the :class:`RawVideo` each dataset type's adapter expects.

The sidecar of the features (:mod:`mmloc.video.sidecar`) holds the sampling, so the seconds
are exact for every model family:

* ActivityNet (BMN, BSN): the normalised axis spans the frames the snippets cover,
  ``((T - 1) * stride + window) / fps`` seconds (``duration_s``);
* ``FeatureDataset``: fps, ``feat_stride = stride`` and ``feat_num_frames = window``, i.e. the
  centred grid of the sidecar;
* AFSD on features: AFSD counts ``feature_stride`` frames per step at ``sample_fps``, so
  ``sample_fps = fps * feature_stride / stride`` gives each step its ``stride / fps`` seconds.
"""
from __future__ import annotations

import numpy as np

from .raw_inputs import (ActivityNetRawInput, FeatureDatasetRawInput, RawInputAdapter,
                         RawVideo, ThumosAFSDRawInput)


def features_to_raw_video(adapter: RawInputAdapter, features: np.ndarray, sidecar: dict,
                          video_name: str) -> RawVideo:
    """``features`` (T, C) with their ``sidecar`` -> the input of ``adapter``."""
    s = sidecar['sampling']
    fps, stride, window = float(s['fps']), float(s['stride']), float(s['window'])
    covered_s = float(sidecar['covered_s'])
    if isinstance(adapter, ThumosAFSDRawInput):
        if adapter.dataset.feature_stride == 1:
            raise ValueError(f'{sidecar["video"]}: this AFSD config reads frames; use an AFSD '
                             'feature config with an extractor')
        return RawVideo(source=features, video_name=video_name,
                        fps=fps * adapter.dataset.feature_stride / stride)
    if isinstance(adapter, FeatureDatasetRawInput):
        return RawVideo(source=features, video_name=video_name, fps=fps, frames_per_step=stride,
                        duration_s=float(sidecar['duration_s']),
                        meta=dict(feat_stride=stride, feat_num_frames=window))
    if isinstance(adapter, ActivityNetRawInput):
        return RawVideo(source=features, video_name=video_name, duration_s=covered_s)
    if type(adapter) is RawInputAdapter:
        return RawVideo(source=features, video_name=video_name, fps=fps, frames_per_step=stride,
                        duration_s=covered_s)
    raise ValueError(f'{sidecar["video"]}: video input is not supported for the '
                     f'{type(adapter).__name__} of this config (BMN/BSN ActivityNet, '
                     'FeatureDataset and AFSD feature configs are)')
