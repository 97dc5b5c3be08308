"""Seeded synthetic THUMOS14-like data for AFSD in the real on-disk layout (spec §1.1-1.2).

Writes, under ``out_dir``:

* ``thumos_annotations/{val,test}_video_info.csv``, ``{val,test}_Annotation_ours.csv`` and
  ``Class_Index_Detection.txt`` (AFSD's formats; ``val`` trains, ``test`` evaluates);
* ``frames/rgb/<video>.npy`` ``uint8 (T, S, S, 3)`` and ``frames/flow/<video>.npy``
  ``uint8 (T, S, S, 2)`` at 10 fps;
* ``features/<video>.npy`` ``float32 (ceil(T/4), D)`` snippet features (one per 4 frames).

Each video has a random background colour and noise; an action of class ``c`` tints the
frames with a class colour and moves a bright bar across them, with a class-specific flow
and a class prototype in the features, so a tiny model can learn classes and boundaries.
"""
from __future__ import annotations

import csv
import math
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from mmloc.utils.io import atomic_open, atomic_save_npy

#: synthetic classes: (type_idx as in THUMOS's UCF101 ids, name)
SYNTHETIC_CLASSES = ((7, 'SynthJump'), (9, 'SynthThrow'), (12, 'SynthSpin'))


@dataclass
class SyntheticAFSDConfig:
    num_classes: int = 2          # foreground classes (<= 3)
    frame_size: int = 40          # stored frames are frame_size x frame_size
    min_frames: int = 48          # video length range, frames at 10 fps
    max_frames: int = 96
    min_action: int = 6           # action length range, frames
    max_action: int = 16
    max_actions: int = 3
    feature_dim: int = 32
    feature_stride: int = 4
    fps: float = 30.0             # "original" fps; count = sample_count * fps / 10


def _place_actions(rng: np.random.Generator, n_frames: int, cfg: SyntheticAFSDConfig
                   ) -> List[Tuple[int, int, int]]:
    actions: List[Tuple[int, int, int]] = []
    for _ in range(int(rng.integers(1, cfg.max_actions + 1))):
        for _attempt in range(20):
            length = int(rng.integers(cfg.min_action, cfg.max_action + 1))
            s = int(rng.integers(1, n_frames - length))
            e = s + length
            if all(e + 3 <= a or s >= b + 3 for a, b, _ in actions):
                actions.append((s, e, int(rng.integers(1, cfg.num_classes + 1))))
                break
    return sorted(actions)


def _render(rng: np.random.Generator, n_frames: int, actions, cfg: SyntheticAFSDConfig,
            prototypes: np.ndarray) -> Dict[str, np.ndarray]:
    size = cfg.frame_size
    base = rng.uniform(50, 110, size=3)
    rgb = base + rng.normal(0, 12, size=(n_frames, size, size, 3))
    flow = 128 + rng.normal(0, 6, size=(n_frames, size, size, 2))
    frame_class = np.zeros(n_frames, np.int64)
    for s, e, c in actions:
        frame_class[s:e] = c
        colour = np.zeros(3)
        colour[(c - 1) % 3] = 110
        rgb[s:e] += colour
        for i, t in enumerate(range(s, e)):
            x = int((i + 0.5) / (e - s) * size)  # a bright bar sweeping across the action
            rgb[t, :, max(x - 3, 0):x + 3] += 60
        flow[s:e, :, :, 0] += 40 if c % 2 else -40
        flow[s:e, :, :, 1] += 20 * c
    steps = math.ceil(n_frames / cfg.feature_stride)
    feats = rng.normal(0, 0.3, size=(steps, cfg.feature_dim))
    for j in range(steps):
        seg = frame_class[j * cfg.feature_stride:(j + 1) * cfg.feature_stride]
        for c in range(1, cfg.num_classes + 1):
            feats[j] += np.mean(seg == c) * prototypes[c]
    return dict(rgb=np.clip(rgb, 0, 255).astype(np.uint8),
                flow=np.clip(flow, 0, 255).astype(np.uint8),
                features=feats.astype(np.float32))


def generate_synthetic_afsd(out_dir: str, num_train: int = 60, num_test: int = 30,
                            seed: int = 0, cfg: SyntheticAFSDConfig | None = None
                            ) -> Dict[str, str]:
    """Write the data set (see module docstring); returns the main paths."""
    cfg = cfg or SyntheticAFSDConfig()
    if not 1 <= cfg.num_classes <= len(SYNTHETIC_CLASSES):
        raise ValueError(f'num_classes must be in [1, {len(SYNTHETIC_CLASSES)}], '
                         f'got {cfg.num_classes}')
    rng = np.random.default_rng(seed)
    ann_dir = osp.join(out_dir, 'thumos_annotations')
    dirs = {k: osp.join(out_dir, *p) for k, p in
            dict(rgb=('frames', 'rgb'), flow=('frames', 'flow'), features=('features',)).items()}
    for d in [ann_dir, *dirs.values()]:
        os.makedirs(d, exist_ok=True)
    classes = SYNTHETIC_CLASSES[:cfg.num_classes]
    with atomic_open(osp.join(ann_dir, 'Class_Index_Detection.txt')) as f:
        f.write(''.join(f'{idx} {name}\n' for idx, name in classes))
    prototypes = rng.normal(0, 1, size=(cfg.num_classes + 1, cfg.feature_dim))
    for subset, count in (('val', num_train), ('test', num_test)):
        info_rows, anno_rows = [], []
        for i in range(count):
            vid = f'video_{subset}_{i:07d}'
            n = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
            actions = _place_actions(rng, n, cfg)
            arrays = _render(rng, n, actions, cfg, prototypes)
            for key, d in dirs.items():
                atomic_save_npy(osp.join(d, vid + '.npy'), arrays[key])
            ratio = cfg.fps / 10.0
            info_rows.append([vid, cfg.fps, 10.0, n * ratio, n])
            for s, e, c in actions:
                idx, name = classes[c - 1]
                anno_rows.append([vid, name, idx, s / 10.0, e / 10.0, int(s * ratio),
                                  int(e * ratio)])
        with atomic_open(osp.join(ann_dir, f'{subset}_video_info.csv'), newline='') as f:
            w = csv.writer(f)
            w.writerow(['video', 'fps', 'sample_fps', 'count', 'sample_count'])
            w.writerows(info_rows)
        with atomic_open(osp.join(ann_dir, f'{subset}_Annotation_ours.csv'), newline='') as f:
            w = csv.writer(f)
            w.writerow(['video', 'type', 'type_idx', 'start', 'end', 'startFrame', 'endFrame'])
            w.writerows(anno_rows)
    return dict(annotations=ann_dir, **dirs)
