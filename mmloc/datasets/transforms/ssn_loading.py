"""Frame / feature loading for SSN.

* ``SSNLoadFrames``: decodes ``frame_dir/img_%05d.jpg``, resizes keeping the aspect ratio,
  centre-crops and normalises -> ``inputs`` (N, 3, H, W) float32, with MMAction2 0.x's own
  image ops (mmcv), so a 0.x checkpoint sees the tensors it was trained on.
* ``SSNLoadFeatures``: reads a (C, T) snippet feature array and gathers the snippet of
  every sampled frame -> ``inputs`` (N, C) float32.

Channel order: 0.x decoded frames as RGB (``RawFrameDecode``), then
``Normalize(mean=[104, 117, 128], to_bgr=True)`` swapped them to **BGR** before subtracting
the mean, which is a BGR (Caffe) mean. The network input is therefore ``B - 104, G - 117,
R - 128``; ``to_bgr=False`` gives RGB minus the mean instead (a model trained that way).
"""
from __future__ import annotations

import os.path as osp
from collections import OrderedDict
from typing import Sequence

import mmcv
import numpy as np

from mmloc.registry import TRANSFORMS


def rescale_size(width: int, height: int, scale: Sequence[int]):
    """Keep-ratio size of mmcv ``Resize(scale, keep_ratio=True)``: the largest size whose long
    edge is <= ``max(scale)`` and short edge <= ``min(scale)`` (rounded half up)."""
    factor = min(max(scale) / max(width, height), min(scale) / min(width, height))
    return int(width * factor + 0.5), int(height * factor + 0.5)


def resize_center_crop(img: np.ndarray, scale: Sequence[int], crop_size: int) -> np.ndarray:
    """0.x ``Resize(scale, keep_ratio=True)`` (``mmcv.imresize``, OpenCV bilinear, no
    antialiasing) then ``CenterCrop(crop_size)``.

    Args:
        img: (H, W, 3) uint8 image.
    Returns:
        (crop, crop, 3) float32, same channel order as ``img``. Images smaller than the crop
        after resizing are enlarged to it (0.x would crop out of bounds).
    """
    h, w = img.shape[:2]
    nw, nh = rescale_size(w, h, scale)
    nw, nh = max(nw, crop_size), max(nh, crop_size)
    img = mmcv.imresize(img, (nw, nh), interpolation='bilinear')
    left, top = (nw - crop_size) // 2, (nh - crop_size) // 2
    return img[top:top + crop_size, left:left + crop_size].astype(np.float32)


def normalize_frame(img: np.ndarray, mean: np.ndarray, std: np.ndarray,
                    to_bgr: bool) -> np.ndarray:
    """0.x ``Normalize``: optionally swap RGB -> BGR, then ``(img - mean) / std`` per channel
    (``mmcv.imnormalize_``, in place on a float32 (H, W, 3) image). Returns (3, H, W)."""
    return mmcv.imnormalize_(img, mean, std, to_rgb=to_bgr).transpose(2, 0, 1)


@TRANSFORMS.register_module()
class SSNLoadFrames:
    """Decode, resize, crop and normalise the frames in ``frame_inds``.

    Args:
        filename_tmpl: frame file name pattern (1-based index).
        scale: keep-ratio resize bound ``(long, short)`` as 0.x ``Resize((340, 256))``.
        crop_size: centre crop, in pixels.
        mean / std: per-channel normalisation, in the channel order of the network input
            (BGR when ``to_bgr``).
        to_bgr: swap the decoded RGB frame to BGR before normalising (0.x
            ``Normalize(to_bgr=True)``, the SSN default).
    """

    def __init__(self, filename_tmpl: str = 'img_{:05}.jpg',
                 scale: Sequence[int] = (340, 256), crop_size: int = 224,
                 mean: Sequence[float] = (104, 117, 128), std: Sequence[float] = (1, 1, 1),
                 to_bgr: bool = True):
        self.filename_tmpl = filename_tmpl
        self.scale = tuple(scale)
        self.crop_size = crop_size
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.to_bgr = to_bgr

    def _read(self, path: str, results: dict) -> np.ndarray:
        """(H, W, 3) uint8 RGB, decoded as 0.x ``RawFrameDecode`` does (``mmcv.imfrombytes``)."""
        try:
            with open(path, 'rb') as f:
                content = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f'video {results.get("video_id")}: frame {path} not found '
                                    f'(total_frames {results.get("total_frames")})') from None
        img = mmcv.imfrombytes(content, flag='color', channel_order='bgr')
        if img is None:  # cv2 decodes what it cannot read to None
            raise ValueError(f'{path}: video {results.get("video_id")}: not a readable image')
        return mmcv.bgr2rgb(img)  # what channel_order='rgb' does, once decoding succeeded

    def __call__(self, results: dict) -> dict:
        frame_dir = results['frame_dir']
        cache = {}
        frames = []
        for i in np.asarray(results['frame_inds']).tolist():
            if i not in cache:
                path = osp.join(frame_dir, self.filename_tmpl.format(i))
                arr = resize_center_crop(self._read(path, results), self.scale, self.crop_size)
                cache[i] = normalize_frame(arr, self.mean, self.std, self.to_bgr)
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
