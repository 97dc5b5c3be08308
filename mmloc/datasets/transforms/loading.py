"""Loading of per-video localization features."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmloc.registry import TRANSFORMS


def read_feature_file(path: str) -> np.ndarray:
    """Read one feature file as float32 ``(T, C)``.

    ``.csv``: one header line, then T rows of C comma-separated floats (spec §1.1).
    ``.npy``: an array of shape (T, C).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: feature file not found')
    if path.endswith('.npy'):
        try:
            feat = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f'{path}: cannot read .npy feature file ({e})') from None
    elif path.endswith('.csv'):
        try:
            feat = np.loadtxt(path, dtype=np.float32, delimiter=',', skiprows=1, ndmin=2)
        except ValueError as e:
            raise ValueError(f'{path}: cannot parse feature CSV, expected a header line then '
                             f'rows of comma-separated floats ({e})') from None
    else:
        raise ValueError(f'{path}: unsupported feature file type (expected .csv or .npy)')
    if feat.ndim != 2:
        raise ValueError(f'{path}: expected a 2-D feature array (T, C), got shape {feat.shape}')
    return feat.astype(np.float32, copy=False)


@TRANSFORMS.register_module()
class LoadLocalizationFeature(BaseTransform):
    """Load ``results['feature_path']`` into ``results['raw_feature']`` float32 (C, T).

    Args:
        temporal_dim: expected T (rows of the file); None skips the check.
        feat_dim: expected C (columns); None skips the check.
        cache: keep parsed features in memory (CSV parsing dominates data loading
            otherwise; each dataloader worker keeps its own cache).
    """

    def __init__(self, temporal_dim: Optional[int] = None, feat_dim: Optional[int] = None,
                 cache: bool = False) -> None:
        self.temporal_dim = temporal_dim
        self.feat_dim = feat_dim
        self.cache = cache
        self._cache: dict = {}

    def transform(self, results: dict) -> dict:
        path = results['feature_path']
        feat = self._cache.get(path) if self.cache else None
        if feat is None:
            feat = read_feature_file(path)
            self._check(path, results.get('video_name', '?'), feat)
            feat = np.ascontiguousarray(feat.T)
            if self.cache:
                self._cache[path] = feat
        results['raw_feature'] = feat
        return results

    def _check(self, path: str, video: str, feat: np.ndarray) -> None:
        t, c = feat.shape
        if self.temporal_dim is not None and t != self.temporal_dim:
            raise ValueError(f'{path}: video {video}: expected {self.temporal_dim} feature rows '
                             f'(temporal_dim), got {t}')
        if self.feat_dim is not None and c != self.feat_dim:
            raise ValueError(f'{path}: video {video}: expected {self.feat_dim} feature columns '
                             f'(feat_dim), got {c}')
        if not np.isfinite(feat).all():
            bad = np.argwhere(~np.isfinite(feat))[0]
            raise ValueError(f'{path}: video {video}: feature contains NaN/Inf '
                             f'(first at row {bad[0]}, column {bad[1]})')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(temporal_dim={self.temporal_dim}, '
                f'feat_dim={self.feat_dim}, cache={self.cache})')
