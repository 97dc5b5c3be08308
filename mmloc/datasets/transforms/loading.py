"""Loading of per-video localization features."""
from __future__ import annotations

import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmloc.registry import TRANSFORMS
from mmloc.structures import TimeGrid


FEATURE_EXTS = ('.csv', '.npy', '.npz', '.pt', '.pth')


def _single_array(path: str, arrays: dict, key: Optional[str]):
    if key is not None:
        if key not in arrays:
            raise ValueError(f'{path}: no array named {key!r} (holds {sorted(arrays)})')
        return arrays[key]
    if len(arrays) != 1:
        raise ValueError(f'{path}: holds {len(arrays)} arrays {sorted(arrays)}; name the one '
                         'to read with feature_key')
    return next(iter(arrays.values()))


def read_feature_file(path: str, feature_key: Optional[str] = None) -> np.ndarray:
    """Read one feature file as float32 ``(T, C)``.

    ``.csv``: one header line, then T rows of C comma-separated floats (spec §1.1).
    ``.npy``: an array (T, C). ``.npz``: one array (or the one named ``feature_key``).
    ``.pt``/``.pth``: a tensor (T, C), or a dict of tensors (``feature_key`` picks one);
    read with ``weights_only=True``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: feature file not found')
    ext = osp.splitext(path)[1]
    try:
        if ext == '.npy':
            feat = np.load(path, allow_pickle=False)
        elif ext == '.npz':
            with np.load(path, allow_pickle=False) as arrays:
                feat = np.asarray(_single_array(path, dict(arrays), feature_key))
        elif ext in ('.pt', '.pth'):
            import torch
            obj = torch.load(path, map_location='cpu', weights_only=True)
            if isinstance(obj, dict):
                obj = _single_array(path, obj, feature_key)
            feat = obj.float().numpy() if isinstance(obj, torch.Tensor) else np.asarray(obj)
        elif ext == '.csv':
            feat = np.loadtxt(path, dtype=np.float32, delimiter=',', skiprows=1, ndmin=2)
        else:
            raise ValueError(f'{path}: unsupported feature file type {ext!r} (expected one of '
                             f'{", ".join(FEATURE_EXTS)})')
    except (ValueError, OSError, RuntimeError, EOFError) as e:
        if str(e).startswith(path):
            raise
        raise ValueError(f'{path}: cannot read the {ext} feature file ({e})') from None
    if feat.ndim != 2:
        raise ValueError(f'{path}: expected a 2-D feature array (T, C), got shape {feat.shape}')
    return feat.astype(np.float32, copy=False)


def feature_length(path: str, feature_key: Optional[str] = None) -> int:
    """T of a feature file without reading it whole where the format allows (``.npy`` is
    memory-mapped, ``.csv`` lines are counted)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: feature file not found')
    if path.endswith('.npy'):
        arr = np.load(path, mmap_mode='r', allow_pickle=False)
        if arr.ndim != 2:
            raise ValueError(f'{path}: expected a 2-D feature array (T, C), got shape '
                             f'{arr.shape}')
        return int(arr.shape[0])
    if path.endswith('.csv'):
        with open(path, 'rb') as f:
            return max(sum(1 for line in f if line.strip()) - 1, 0)
    return int(read_feature_file(path, feature_key).shape[0])


@TRANSFORMS.register_module()
class LoadLocalizationFeature(BaseTransform):
    """Load ``results['feature_path']`` into ``results['raw_feature']`` float32 (C, T).

    In-memory features (inference on an array) come as ``results['feature']`` (T, C)
    instead of a path and get the same checks. When the
    results carry ``fps`` and ``feat_stride`` (``FeatureDataset``), the video's
    :class:`~mmloc.structures.TimeGrid` is built here (``results['time_grid']``), since
    T is known only now. A ``window`` ``(start, length)`` (sliding windows) keeps those
    positions and crops the grid with them.

    Args:
        temporal_dim: expected T (rows of the file); None skips the check.
        feat_dim: expected C (columns); None skips the check.
        cache: keep parsed features in memory (CSV parsing dominates data loading
            otherwise; each dataloader worker keeps its own cache).
        feature_key: the array to read from a ``.npz`` / ``.pt`` file holding several.
    """

    def __init__(self, temporal_dim: Optional[int] = None, feat_dim: Optional[int] = None,
                 cache: bool = False, feature_key: Optional[str] = None) -> None:
        self.temporal_dim = temporal_dim
        self.feat_dim = feat_dim
        self.cache = cache
        self.feature_key = feature_key
        self._cache: dict = {}

    def transform(self, results: dict) -> dict:
        if 'feature' in results:   # in-memory (T, C) features (inference)
            path = results.get('feature_path', '<array>')
            feat = np.asarray(results.pop('feature'), dtype=np.float32)
            if feat.ndim != 2:
                raise ValueError(f'{path}: expected a 2-D feature array (T, C), got shape '
                                 f'{feat.shape}')
            self._check(path, results.get('video_name', '?'), feat)
            feat = np.ascontiguousarray(feat.T)
        else:
            path = results['feature_path']
            feat = self._cache.get(path) if self.cache else None
            if feat is None:
                feat = read_feature_file(path, self.feature_key)
                self._check(path, results.get('video_name', '?'), feat)
                feat = np.ascontiguousarray(feat.T)
                if self.cache:
                    self._cache[path] = feat
        if 'time_grid' not in results and 'feat_stride' in results and 'fps' in results:
            results['time_grid'] = TimeGrid.from_features(
                feat.shape[1], results['fps'], results['feat_stride'],
                results.get('feat_num_frames', results['feat_stride']),
                results.get('duration_second'))
        if results.get('window') is not None:
            start, length = (int(v) for v in results['window'])
            feat = feat[:, start:start + length]
            if 'time_grid' in results:
                results['time_grid'] = results['time_grid'].cropped(start, feat.shape[1])
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
