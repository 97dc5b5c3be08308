"""AFSD per-sample transforms (spec §1.5, §4.7): load a window (or a whole test video),
crop / flip, window targets and boundary labels, contrastive copy. Packing is
``PackLocalizationInputs`` (``PackAFSDInputs`` is its deprecated alias).

Frames stay ``uint8 (T, H, W, C)`` until the model normalises them (``x/255·2-1``), so a
padded training frame (uint8 0) reads -1 as in AFSD; the model pads test windows with 0.0
after normalising, as AFSD's test script does.
"""
from __future__ import annotations

import os.path as osp
import warnings
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmloc.registry import TRANSFORMS
from mmloc.structures import Segments, TimeGrid

from .afsd_windows import boundary_labels, contrastive_clip
from .formatting import PackLocalizationInputs


def _open_array(path, vid: str):
    """Memory-map one ``.npy`` (or take an in-memory array) and check it: frames
    ``uint8 (T,H,W,C)`` or features ``(T,C)``.

    Returns the array and its input type (``'frames'`` | ``'features'``).
    """
    if isinstance(path, np.ndarray):
        arr, path = path, '<array>'
    elif not osp.isfile(path):
        raise FileNotFoundError(f'{path}: frame/feature array of video {vid} not found')
    else:
        arr = np.load(path, mmap_mode='r')
    if arr.ndim == 4:
        if arr.dtype != np.uint8:
            raise ValueError(f'{path}: video {vid}: frames must be uint8 (T,H,W,C), '
                             f'got {arr.dtype}')
        return arr, 'frames'
    if arr.ndim == 2:
        return arr, 'features'
    raise ValueError(f'{path}: video {vid}: expected frames (T,H,W,C) or features '
                     f'(T,C), got shape {arr.shape}')


def _window(arr: np.ndarray, results: dict) -> np.ndarray:
    """The training window ``[offset, offset+L)`` in input steps, zero-padded at the end,
    or the whole array for test items (no ``offset``)."""
    if 'offset' not in results:
        return np.asarray(arr)
    fs = results.get('feature_stride', 1)
    start, steps = results['offset'] // fs, results['clip_length'] // fs
    window = np.asarray(arr[start:start + steps])
    if window.shape[0] < steps:
        pad = np.zeros((steps - window.shape[0],) + window.shape[1:], window.dtype)
        window = np.concatenate([window, pad])
    return window


@TRANSFORMS.register_module()
class LoadAFSDFrames(BaseTransform):
    """Load ``frame_path`` (``.npy``): frames ``uint8 (T, H, W, C)`` or features ``(T, C)``.

    Training items (with ``offset``) get the window ``[offset, offset+L)`` in input steps
    (``L / feature_stride``), zero-padded at the end; test items get the whole video.
    Adds ``imgs`` and ``input_type`` (``'frames'`` | ``'features'``). In-memory arrays
    (inference) come as ``results['frames']``: one array, or ``{modality: array}`` with
    ``modalities``.

    Args:
        modalities: ``None`` (default): one array from ``frame_path``. A sequence such as
            ``('rgb', 'flow')``: one array per modality from ``frame_paths[modality]`` (set by
            ``ThumosAFSDDataset(modalities=...)``), concatenated along channels in this order,
            e.g. RGB + flow frames ``(T, H, W, 3 + 2)`` for ``AFSD(fusion_net=...,
            fusion_channels=3)``. The arrays must agree in every dimension but channels.
    """

    def __init__(self, modalities=None):
        self.modalities = tuple(modalities) if modalities is not None else None
        if self.modalities is not None and not self.modalities:
            raise ValueError('LoadAFSDFrames: modalities must be None or non-empty')

    def transform(self, results: dict) -> dict:
        vid = results['video_name']
        frames = results.pop('frames', None)  # in-memory arrays (inference)
        if self.modalities is None:
            arr, results['input_type'] = _open_array(
                frames if frames is not None else results['frame_path'], vid)
            results['imgs'] = _window(arr, results)
            return results
        paths = frames if frames is not None else (results.get('frame_paths') or {})
        missing = [m for m in self.modalities if m not in paths]
        if missing:
            raise KeyError(f'video {vid}: LoadAFSDFrames(modalities={self.modalities}) has no '
                           f'path for {missing}; build the dataset with '
                           f'ThumosAFSDDataset(modalities=...) and data_prefix folders for them')
        arrays = [(paths[m] if isinstance(paths[m], str) else f'<{m} array>',) +
                  _open_array(paths[m], vid) for m in self.modalities]
        first_path, first, first_type = arrays[0]
        for path, arr, kind in arrays[1:]:
            # AFSD's flow arrays have as many frames as the RGB ones (last flow duplicated)
            if kind != first_type or arr.shape[:-1] != first.shape[:-1]:
                raise ValueError(f'video {vid}: {path} has shape {arr.shape} ({kind}) but '
                                 f'{first_path} has {first.shape} ({first_type}); fused '
                                 f'modalities must agree in all dimensions but channels')
        results['input_type'] = first_type
        results['imgs'] = np.concatenate([_window(arr, results) for _, arr, _ in arrays],
                                         axis=-1)
        return results


@TRANSFORMS.register_module()
class AFSDRandomCrop(BaseTransform):
    """One random ``size x size`` crop for the whole clip (offsets uniform in ``[0, H-size]``)."""

    def __init__(self, size: int = 96):
        self.size = size

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        if h < self.size or w < self.size:
            raise ValueError(f'video {results.get("video_name")}: frames {h}x{w} are smaller '
                             f'than the crop {self.size}')
        y = np.random.randint(0, h - self.size + 1)
        x = np.random.randint(0, w - self.size + 1)
        results['imgs'] = imgs[:, y:y + self.size, x:x + self.size]
        return results


@TRANSFORMS.register_module()
class AFSDCenterCrop(BaseTransform):
    """Centre ``size x size`` crop (offset ``(H-size)//2``: 8 for 112 -> 96)."""

    def __init__(self, size: int = 96):
        self.size = size

    def transform(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        y, x = (h - self.size) // 2, (w - self.size) // 2
        if y < 0 or x < 0:
            raise ValueError(f'video {results.get("video_name")}: frames {h}x{w} are smaller '
                             f'than the crop {self.size}')
        results['imgs'] = imgs[:, y:y + self.size, x:x + self.size]
        return results


@TRANSFORMS.register_module()
class AFSDRandomFlip(BaseTransform):
    """Horizontal flip with probability ``p`` (flow x is not negated, as in AFSD)."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.p:
            results['imgs'] = results['imgs'][:, :, ::-1]
        return results


@TRANSFORMS.register_module()
class AFSDBoundaryLabels(BaseTransform):
    """The training targets of a window, from ``window_gts`` (n, 3) ``[s, e, label]`` frames:

    * ``gt_segments`` (n, 2) float32: the GT normalised by the clip length ``L``, through the
      window's frame grid (``frame / L``); ``gt_labels`` (n,) int64, 1-based (0 background);
    * ``start_labels`` / ``end_labels`` (L,) float32 (``boundary_labels``, spec §1.4).
    """

    def transform(self, results: dict) -> dict:
        gts = np.asarray(results['window_gts'], np.float32).reshape(-1, 3)
        clip_length = results['clip_length']
        window = TimeGrid.from_fps(results.get('sample_fps', 10.0), num_frames=clip_length)
        results['gt_segments'] = Segments(gts[:, :2], 'index').to('normalised', window).numpy()
        results['gt_labels'] = gts[:, 2].astype(np.int64)
        results['start_labels'], results['end_labels'] = boundary_labels(
            results['window_gts'], clip_length)
        return results


@TRANSFORMS.register_module()
class AFSDContrastiveClip(BaseTransform):
    """Build the boundary-contrastive copy from the cropped window (spec §4.7); frames only
    (features have no frames to move). ``ssl_flag`` says whether a copy was made; only then
    are ``ssl_imgs`` (time-first frames) and ``ssl_segments`` (3, 2) float32 frames set."""

    def transform(self, results: dict) -> dict:
        imgs = None
        if results.get('input_type') == 'frames':
            rng = np.random.default_rng(np.random.randint(0, 2 ** 31 - 1))
            imgs, segs = contrastive_clip(results['imgs'], results['window_gts'],
                                          results['th'], rng)
        results['ssl_flag'] = imgs is not None
        if imgs is not None:
            results['ssl_imgs'] = imgs
            results['ssl_segments'] = np.asarray(segs, np.float32)
        return results


#: what AFSD's data samples carry (configs/localization/afsd/)
AFSD_TRAIN_KEYS = ('gt_segments', 'gt_labels', 'start_labels', 'end_labels', 'ssl_imgs',
                   'ssl_segments')
AFSD_TEST_KEYS = ('gt_segments', 'gt_labels')
AFSD_META_KEYS = ('video_name', 'offset', 'sample_fps', 'sample_count', 'clip_length',
                  'feature_stride', 'input_type', 'annotations')


@TRANSFORMS.register_module()
class PackAFSDInputs(PackLocalizationInputs):
    """Deprecated: ``PackLocalizationInputs`` with AFSD's keys and metainfo.

    Training: ``gt_instances.segments`` (G,2) normalised by ``L`` and ``labels`` (G,) 1-based
    (written by ``AFSDBoundaryLabels``), ``start_labels``/``end_labels`` (L,), and
    ``ssl_inputs``/``ssl_segments`` when ``AFSDContrastiveClip`` made a copy. Test:
    ``gt_instances.segments`` in **seconds** and ``labels`` 0-based (from the dataset).
    """

    def __init__(self, meta_keys: Sequence[str] = AFSD_META_KEYS,
                 keys: Optional[Sequence[str]] = AFSD_TRAIN_KEYS) -> None:
        warnings.warn('PackAFSDInputs is deprecated: use dict(type=\'PackLocalizationInputs\', '
                      'keys=..., meta_keys=...) (see configs/localization/afsd/)',
                      FutureWarning, stacklevel=2)
        super().__init__(keys=keys, meta_keys=meta_keys)
