"""Loading of per-video localization features."""
from __future__ import annotations

import os.path as osp
import warnings
import zipfile
import zlib
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmloc.registry import TRANSFORMS
from mmloc.structures import TimeGrid
from mmloc.utils.io import NPY_READ_ERRORS, load_npy
from mmloc.utils.validation import FormatError, check_array


FEATURE_EXTS = ('.csv', '.npy', '.npz', '.pt', '.pth')


def _single_array(path: str, arrays: dict, key: Optional[str]):
    if key is not None:
        if key not in arrays:
            raise FormatError(f'{path}: no array named {key!r} (holds {sorted(arrays)})')
        return arrays[key]
    if len(arrays) != 1:
        raise FormatError(f'{path}: holds {len(arrays)} arrays {sorted(arrays)}; name the one '
                          'to read with feature_key')
    return next(iter(arrays.values()))


def _read_npz(path: str, feature_key: Optional[str]) -> np.ndarray:
    try:
        with zipfile.ZipFile(path):
            pass
        with np.load(path, allow_pickle=False) as arrays:
            return np.asarray(_single_array(path, dict(arrays), feature_key))
    except FormatError:
        raise
    except NPY_READ_ERRORS + (KeyError, NotImplementedError, zlib.error) as e:
        # a member is read lazily: its own header, size and compression can be broken
        raise FormatError(f'{path}: cannot read the .npz feature file ({type(e).__name__}: '
                          f'{e})') from None


def _read_torch(path: str, feature_key: Optional[str]) -> np.ndarray:
    import torch
    try:
        obj = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:  # noqa: BLE001 (torch's unpickler raises many kinds on bad bytes)
        raise FormatError(f'{path}: cannot read the .pt feature file ({type(e).__name__}: '
                          f'{str(e).splitlines()[0] if str(e) else ""})') from None
    if isinstance(obj, dict):
        obj = _single_array(path, obj, feature_key)
    if not isinstance(obj, torch.Tensor):
        raise FormatError(f'{path}: expected a tensor (T, C) or a dict of tensors, got '
                          f'{type(obj).__name__}')
    if obj.layout != torch.strided:
        raise FormatError(f'{path}: expected a dense tensor, got layout {obj.layout}')
    if obj.dtype.is_complex or obj.dtype == torch.bool:
        raise FormatError(f'{path}: feature values must be real numbers, got {obj.dtype}')
    obj = obj.detach()   # a tensor saved with requires_grad=True
    return obj.float().numpy() if obj.dtype.is_floating_point else obj.numpy()


def _read_csv(path: str) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)   # "input contained no data"
            # parsed straight to float32 (no double rounding); too large a value is inf
            return np.loadtxt(path, dtype=np.float32, delimiter=',', skiprows=1, ndmin=2,
                              encoding='utf-8')
    except (ValueError, OSError) as e:   # UnicodeDecodeError is a ValueError
        raise FormatError(f'{path}: cannot read the .csv feature file, expected a header line '
                          f'and rows of comma-separated numbers ({e})') from None


def read_feature_file(path: str, feature_key: Optional[str] = None,
                      video_name: Optional[str] = None) -> np.ndarray:
    """Read one feature file as float32 ``(T, C)``, ``T, C >= 1``, every value finite.

    ``.csv``: one header line, then T rows of C comma-separated floats (spec §1.1).
    ``.npy``: an array (T, C). ``.npz``: one array (or the one named ``feature_key``).
    ``.pt``/``.pth``: a tensor (T, C), or a dict of tensors (``feature_key`` picks one);
    read with ``weights_only=True``. Values beyond float32's range are an error (they would
    become ``inf``), as are non-numeric dtypes. Errors are
    :class:`~mmloc.utils.validation.FormatError` naming the file (and ``video_name``).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: feature file not found')
    ext = osp.splitext(path)[1]
    if ext == '.npy':
        feat = load_npy(path, 'feature')
    elif ext == '.npz':
        feat = _read_npz(path, feature_key)
    elif ext in ('.pt', '.pth'):
        feat = _read_torch(path, feature_key)
    elif ext == '.csv':
        feat = _read_csv(path)
    else:
        raise FormatError(f'{path}: unsupported feature file type {ext!r} (expected one of '
                          f'{", ".join(FEATURE_EXTS)})')
    check_array(feat, path, 'feature', video=video_name, min_rows=1)
    with np.errstate(over='ignore'):
        out = feat.astype(np.float32, copy=False)
    # a finite float64 beyond float32's range becomes inf here
    return check_array(out, path, 'feature (as float32)', video=video_name)


def feature_length(path: str, feature_key: Optional[str] = None) -> int:
    """T of a feature file without reading it whole where the format allows (``.npy`` is
    memory-mapped, ``.csv`` lines are counted)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: feature file not found')
    if path.endswith('.npy'):
        arr = load_npy(path, 'feature', mmap=True)
        if arr.ndim != 2:
            raise FormatError(f'{path}: expected a 2-D feature array (T, C), got shape '
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
                raise FormatError(f'{path}: expected a 2-D feature array (T, C), got shape '
                                  f'{feat.shape}')
            self._check(path, results.get('video_name', '?'), feat)
            feat = np.ascontiguousarray(feat.T)
        else:
            path = results['feature_path']
            feat = self._cache.get(path) if self.cache else None
            if feat is None:
                feat = read_feature_file(path, self.feature_key,
                                         results.get('video_name'))
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
            raise FormatError(f'{path}: video {video}: expected {self.temporal_dim} feature '
                              f'rows (temporal_dim), got {t}')
        if self.feat_dim is not None and c != self.feat_dim:
            raise FormatError(f'{path}: video {video}: expected {self.feat_dim} feature '
                              f'columns (feat_dim), got {c}')
        check_array(feat, path, 'feature', video=video)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(temporal_dim={self.temporal_dim}, '
                f'feat_dim={self.feat_dim}, cache={self.cache})')
