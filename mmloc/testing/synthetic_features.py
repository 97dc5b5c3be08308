"""Seeded synthetic snippet features of variable length, in ``FeatureDataset``'s layout.

Writes ``<out>/annotations.json`` (the official/ActionFormer ``database`` layout: per video
``subset``, ``duration`` seconds, ``fps``, ``annotations`` ``[{segment: [s, e] seconds,
label}]``) and ``<out>/features/<video>.npy`` (T, C) float32, rows every ``feat_stride``
frames over ``feat_num_frames`` frames (the grid of ``TimeGrid.from_features``). Each class
has a random direction in feature space; a snippet inside an action gets that direction
weighted by how much of the snippet the action covers, plus noise. Files are written
atomically (temp file + rename), as by every mmloc writer.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict

import numpy as np

from mmloc.utils.io import atomic_save_npy, atomic_write_json
from ._segment_layout import place_segments, snippet_coverage


@dataclass
class SyntheticFeatureConfig:
    feat_dim: int = 32
    num_classes: int = 3
    fps: float = 10.0
    feat_stride: int = 4
    feat_num_frames: int = 8
    min_steps: int = 40           # feature rows per video, uniform in [min, max]
    max_steps: int = 240
    max_actions: int = 3
    coverage: tuple = (0.05, 0.4)  # share of the video one action covers
    noise: float = 0.7


def generate_synthetic_features(out_dir: str, num_train: int = 60, num_val: int = 20,
                                seed: int = 0, cfg: SyntheticFeatureConfig = None
                                ) -> Dict[str, str]:
    """Write the set; returns ``{'ann_file', 'feature_dir'}``."""
    cfg = cfg or SyntheticFeatureConfig()
    rng = np.random.default_rng(seed)
    classes = [f'class_{i}' for i in range(cfg.num_classes)]
    directions = rng.normal(size=(cfg.num_classes, cfg.feat_dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True) / 2.0
    feature_dir = osp.join(out_dir, 'features')
    os.makedirs(feature_dir, exist_ok=True)
    database = {}
    for i in range(num_train + num_val):
        vid = f'video_{i:04d}'
        steps = int(rng.integers(cfg.min_steps, cfg.max_steps + 1))
        # the frames the features cover: (T - 1) * stride + window
        duration_s = ((steps - 1) * cfg.feat_stride + cfg.feat_num_frames) / cfg.fps
        num = int(rng.integers(1, cfg.max_actions + 1))
        cover = rng.uniform(*cfg.coverage, size=num)
        cover *= min(1.0, 0.9 / cover.sum())
        segments_u = place_segments(rng, cover)
        labels = rng.integers(0, cfg.num_classes, size=num)
        weight = snippet_coverage(segments_u, steps)            # (num, T)
        feat = rng.normal(scale=cfg.noise, size=(steps, cfg.feat_dim))
        feat += weight.T @ directions[labels]
        atomic_save_npy(osp.join(feature_dir, f'{vid}.npy'), feat.astype(np.float32))
        anns = [dict(segment=[round(float(s) * duration_s, 3), round(float(e) * duration_s, 3)],
                     label=classes[int(c)]) for (s, e), c in zip(segments_u, labels)]
        database[vid] = dict(subset='training' if i < num_train else 'validation',
                             duration=round(duration_s, 3), fps=cfg.fps, annotations=anns)
    ann_file = osp.join(out_dir, 'annotations.json')
    atomic_write_json(ann_file, dict(database=database, classes=classes))
    return dict(ann_file=ann_file, feature_dir=feature_dir)
