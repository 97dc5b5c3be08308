"""Small mp4 files written with PyAV: coloured shapes that appear, move and disappear at
known times, on a grey background (decoding, extraction and the own-data-set chain).

Class ``c`` is a shape of its own colour (``CLASS_COLOURS``); while an action is on, its
shape moves left to right across the frame. Frame ``i`` is shown at ``pts_s[i]``; by
default ``i / fps`` (constant rate), or any increasing times (variable frame rate).
"""
from __future__ import annotations

import csv
import fractions
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: RGB colour of each class's shape
CLASS_COLOURS = ((230, 40, 40), (40, 200, 60), (50, 80, 230), (230, 220, 40), (200, 40, 220),
                 (40, 210, 220))
BACKGROUND = 110


def render_frame(t_s: float, actions: Sequence[Tuple[float, float, int]], size=(64, 48),
                 noise: Optional[np.random.Generator] = None) -> np.ndarray:
    """uint8 (H, W, 3) frame at ``t_s`` seconds: each action ``(start_s, end_s, class)`` on
    at ``t_s`` draws its class's shape, moving from left to right over the action."""
    w, h = size
    img = np.full((h, w, 3), BACKGROUND, np.uint8)
    if noise is not None:
        img = np.clip(img + noise.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for start_s, end_s, cls in actions:
        if not start_s <= t_s < end_s:
            continue
        frac = (t_s - start_s) / max(end_s - start_s, 1e-6)
        r = max(3, h // 4)
        cx, cy = r + frac * (w - 2 * r), h / 2
        kind = cls % 3
        if kind == 0:
            mask = (np.abs(xx - cx) < r) & (np.abs(yy - cy) < r)
        elif kind == 1:
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
        else:
            mask = (np.abs(xx - cx) + np.abs(yy - cy)) < r
        img[mask] = CLASS_COLOURS[cls % len(CLASS_COLOURS)]
    return img


def write_video(path: str, duration_s: float, fps: float = 10.0,
                actions: Sequence[Tuple[float, float, int]] = (), size=(64, 48),
                pts_s: Optional[Sequence[float]] = None, codec: str = 'mpeg4',
                seed: Optional[int] = 0, options: Optional[dict] = None) -> np.ndarray:
    """Encode a synthetic video; returns the (N,) float64 presentation times written.

    Args:
        duration_s: frames at ``i / fps`` for ``i / fps < duration_s`` (ignored with ``pts_s``).
        actions: ``(start_s, end_s, class_id)`` shown in the video.
        pts_s: explicit frame times (seconds, increasing; millisecond precision) for a
            variable-frame-rate file.
        codec: ``'mpeg4'`` (FFmpeg's own encoder, always in PyAV's wheels) or ``'libx264'``.
        options: container options (``{'movflags': 'faststart'}``: the index first).
    """
    import av
    if pts_s is None:
        pts_s = np.arange(int(np.ceil(duration_s * fps - 1e-9))) / fps
    pts_s = np.asarray(pts_s, np.float64)
    if pts_s.size == 0 or np.any(np.diff(pts_s) <= 0):
        raise ValueError('write_video: frame times must be increasing and non-empty')
    # the time base: 1/fps for constant rate (exact), milliseconds otherwise
    cfr = np.allclose(pts_s, np.arange(pts_s.size) / fps)
    tb = fractions.Fraction(1, int(round(fps))) if cfr and float(fps).is_integer() else \
        fractions.Fraction(1, 1000)
    ticks = np.round(pts_s / float(tb)).astype(np.int64)
    rng = np.random.default_rng(seed) if seed is not None else None
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with av.open(path, 'w', options=options or {}) as container:
        stream = container.add_stream(codec, rate=fractions.Fraction(int(round(fps)), 1))
        stream.width, stream.height = size
        stream.pix_fmt = 'yuv420p'
        stream.codec_context.time_base = tb
        stream.codec_context.bit_rate = 2_000_000
        for tick in ticks:
            frame = av.VideoFrame.from_ndarray(
                render_frame(float(tick * tb), actions, size, rng), format='rgb24')
            frame.pts = int(tick)
            frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return ticks * float(tb)


def random_actions(rng: np.random.Generator, duration_s: float, num_classes: int,
                   max_actions: int = 3, min_len_s: float = 1.5, max_len_s: float = 4.0
                   ) -> List[Tuple[float, float, int]]:
    """Non-overlapping actions with gaps, times rounded to 0.1 s."""
    n = int(rng.integers(1, max_actions + 1))
    out, t = [], float(rng.uniform(0.3, 1.5))
    for _ in range(n):
        length = float(rng.uniform(min_len_s, max_len_s))
        if t + length > duration_s - 0.3:
            break
        out.append((round(t, 1), round(t + length, 1), int(rng.integers(num_classes))))
        t += length + float(rng.uniform(0.8, 2.5))
    return out or [(0.5, min(duration_s - 0.2, 0.5 + min_len_s), int(rng.integers(num_classes)))]


def write_video_dataset(out_dir: str, num_videos: int = 12, duration_s: float = 12.0,
                        fps: float = 10.0, num_classes: int = 3, seed: int = 0,
                        val_fraction: float = 0.25, size=(64, 48)) -> dict:
    """A folder of synthetic videos plus ``labels.csv`` (``video,start_s,end_s,label``) and
    ``split.csv`` (``video,subset``), as a user's own data set would come.

    Returns ``dict(videos=DIR, labels=CSV, splits=CSV, classes=[...], actions={vid: [...]})``.
    """
    rng = np.random.default_rng(seed)
    video_dir = osp.join(out_dir, 'videos')
    classes = [f'class_{chr(97 + c)}' for c in range(num_classes)]
    actions = {}
    num_val = max(1, int(round(num_videos * val_fraction)))
    for i in range(num_videos):
        vid = f'vid{i:03d}'
        acts = random_actions(rng, duration_s, num_classes)
        write_video(osp.join(video_dir, f'{vid}.mp4'), duration_s, fps, acts, size, seed=i)
        actions[vid] = acts
    labels = osp.join(out_dir, 'labels.csv')
    with open(labels, 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f)
        w.writerow(['video', 'start_s', 'end_s', 'label'])
        for vid, acts in actions.items():
            for s, e, c in acts:
                w.writerow([vid, f'{s:.1f}', f'{e:.1f}', classes[c]])
    splits = osp.join(out_dir, 'split.csv')
    with open(splits, 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f)
        w.writerow(['video', 'subset'])
        for i, vid in enumerate(actions):
            w.writerow([vid, 'validation' if i >= num_videos - num_val else 'training'])
    return dict(videos=video_dir, labels=labels, splits=splits, classes=classes,
                actions=actions)
