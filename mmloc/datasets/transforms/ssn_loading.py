"""Frame / feature loading for SSN.

* ``SSNLoadFrames``: decodes ``frame_dir/img_%05d.jpg`` with Pillow (RGB), resizes keeping
  the aspect ratio (mmcv's rule), centre-crops and normalises -> ``inputs`` (N, 3, H, W) float32.
* ``SSNLoadFeatures``: reads a (C, T) snippet feature array and gathers the snippet of
  every sampled frame -> ``inputs`` (N, C) float32.

MMAction2 0.x decoded BGR, then ``Normalize(to_bgr=True)`` flipped to RGB before
subtracting ``[104, 117, 128]``; decoding RGB here and subtracting the same mean in the
same channel order gives the same tensor.
"""
from __future__ import annotations

import os.path as osp
from collections import OrderedDict
from typing import Sequence

import numpy as np
from PIL import Image

from mmloc.registry import TRANSFORMS


def rescale_size(width: int, height: int, scale: Sequence[int]):
    """Keep-ratio size of mmcv ``Resize(scale, keep_ratio=True)``: the largest size whose long
    edge is <= ``max(scale)`` and short edge <= ``min(scale)`` (rounded half up)."""
    factor = min(max(scale) / max(width, height), min(scale) / min(width, height))
    return int(width * factor + 0.5), int(height * factor + 0.5)


def resize_center_crop(img: Image.Image, scale: Sequence[int], crop_size: int) -> np.ndarray:
    """Keep-ratio resize to ``scale`` (long, short), then a centre ``crop_size`` square.

    Images smaller than the crop after resizing are enlarged to it. Returns
    (crop, crop, 3) float32 RGB.
    """
    nw, nh = rescale_size(*img.size, scale)
    nw, nh = max(nw, crop_size), max(nh, crop_size)
    img = img.resize((nw, nh), Image.BILINEAR)
    left, top = (nw - crop_size) // 2, (nh - crop_size) // 2
    img = img.crop((left, top, left + crop_size, top + crop_size))
    return np.asarray(img, dtype=np.float32)


@TRANSFORMS.register_module()
class SSNLoadFrames:
    """Decode, resize, crop and normalise the frames in ``frame_inds``.

    Args:
        filename_tmpl: frame file name pattern (1-based index).
        scale: keep-ratio resize bound ``(long, short)`` as 0.x ``Resize((340, 256))``.
        crop_size: centre crop, in pixels.
        mean / std: per-channel RGB normalisation.
    """

    def __init__(self, filename_tmpl: str = 'img_{:05}.jpg',
                 scale: Sequence[int] = (340, 256), crop_size: int = 224, mean: Sequence[float] = (104, 117, 128),
                 std: Sequence[float] = (1, 1, 1)):
        self.filename_tmpl = filename_tmpl
        self.scale = tuple(scale)
        self.crop_size = crop_size
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def __call__(self, results: dict) -> dict:
        frame_dir = results['frame_dir']
        cache = {}
        frames = []
        for i in np.asarray(results['frame_inds']).tolist():
            if i not in cache:
                path = osp.join(frame_dir, self.filename_tmpl.format(i))
                try:
                    with Image.open(path) as im:
                        arr = resize_center_crop(im.convert('RGB'), self.scale,
                                                 self.crop_size)
                except FileNotFoundError:
                    raise FileNotFoundError(f'video {results.get("video_id")}: frame {path} '
                                            f'not found (total_frames '
                                            f'{results.get("total_frames")})') from None
                cache[i] = ((arr - self.mean) / self.std).transpose(2, 0, 1)
            frames.append(cache[i])
        results['inputs'] = np.ascontiguousarray(np.stack(frames), dtype=np.float32)
        return results


def frames_to_snippets(frame_inds: np.ndarray, num_frames: int, num_snippets: int,
                       start_index: int = 1) -> np.ndarray:
    """Snippet index covering each frame: ``floor((f - start_index) * T / num_frames)``.

    Args:
        frame_inds: (N,) frame indices (``start_index``-based). Returns (N,) int64 in [0, T).
    """
    f = np.asarray(frame_inds, np.int64) - start_index
    return np.clip(f * num_snippets // max(1, num_frames), 0, num_snippets - 1)


@TRANSFORMS.register_module()
class SSNLoadFeatures:
    """Gather snippet features for ``frame_inds`` from ``feature_path`` ((C, T) ``.npy``), or
    from in-memory ``results['feature']`` (T, C) (inference on an array).

    Features are cached in memory (``cache_size`` videos per worker) so that a video is
    read once per worker, not once per iteration.
    """

    def __init__(self, cache_size: int = 512):
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()

    def _load(self, path: str, video_id) -> np.ndarray:
        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        if not osp.isfile(path):
            raise FileNotFoundError(f'video {video_id}: feature file {path} not found')
        feat = np.load(path)
        if feat.ndim != 2:
            raise ValueError(f'{path}: video {video_id}: expected a (C, T) feature array, got '
                             f'shape {feat.shape}')
        feat = np.ascontiguousarray(feat.T, dtype=np.float32)  # (T, C)
        self._cache[path] = feat
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return feat

    def __call__(self, results: dict) -> dict:
        if 'feature' in results:  # in-memory (T, C) snippet features (inference)
            feat = np.ascontiguousarray(results.pop('feature'), dtype=np.float32)
            if feat.ndim != 2:
                raise ValueError(f'video {results.get("video_id")}: expected in-memory features '
                                 f'(T, C), got shape {feat.shape}')
        else:
            feat = self._load(results['feature_path'], results.get('video_id'))
        idx = frames_to_snippets(results['frame_inds'], int(results['total_frames']),
                                 feat.shape[0], int(results.get('start_index', 1)))
        results['inputs'] = feat[idx]
        return results
