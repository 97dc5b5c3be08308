"""Seeded synthetic ActivityNet-like data in the real on-disk format.

Writes, under ``out_dir``:

* ``features/<video_name>.csv`` (or ``.npy``): ``temporal_dim`` rows x ``feat_dim``
  columns (header ``f0,f1,...`` for CSV), the features of the covered part of the
  video resampled to ``temporal_dim`` positions, exactly like ``csv_mean_100``;
* ``anet_anno_{train,val}.json``: MMAction2 annotation JSON (spec §1.2);
* ``action_name.csv``: the class names, one per line after a header.

How the features are made (learnable but noisy; boundaries not trivially visible):
each class has a random direction in feature space; inside an action the features
move along it with an instance-specific amplitude, weighted by how much of each
snippet the action covers; distractor segments (no label) move along other
directions; every video has its own offset, a slow random drift and white noise.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Tuple

import numpy as np

from mmloc.structures import corrected_second
from mmloc.utils.io import atomic_open, atomic_save_npy, atomic_write_json

from ._segment_layout import place_segments, snippet_coverage

_ID_ALPHABET = np.array(list('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'))


@dataclass
class SyntheticConfig:
    """Knobs of the generator (defaults give an ActivityNet-like spread)."""
    temporal_dim: int = 100
    feat_dim: int = 400
    num_classes: int = 10
    min_duration_s: float = 20.0
    max_duration_s: float = 240.0
    max_actions: int = 4
    signal_amplitude: float = 2.0
    noise_std: float = 1.0
    drift_std: float = 0.3
    distractor_rate: float = 0.5


def _video_ids(rng: np.random.Generator, n: int) -> List[str]:
    ids, seen = [], set()
    while len(ids) < n:
        vid = 'v_' + ''.join(rng.choice(_ID_ALPHABET, 11))
        if vid not in seen:
            seen.add(vid)
            ids.append(vid)
    return ids


def _sample_action_coverages(rng: np.random.Generator, num_actions: int) -> np.ndarray:
    """Relative durations (fraction of the video) with short, medium and long actions."""
    kind = rng.choice(3, size=num_actions, p=[0.3, 0.4, 0.3])
    lo = np.array([0.04, 0.12, 0.35])[kind]
    hi = np.array([0.12, 0.35, 0.95])[kind]
    cov = rng.uniform(lo, hi)
    # several actions must fit in one video with gaps between them
    total = cov.sum()
    if total > 0.9:
        cov *= 0.9 / total
    return cov


def make_video(rng: np.random.Generator, cfg: SyntheticConfig, class_dirs: np.ndarray,
               distractor_dirs: np.ndarray) -> Tuple[dict, np.ndarray]:
    """One video: its annotation record (seconds) and its features (T, C) float32."""
    duration_s = float(np.exp(rng.uniform(np.log(cfg.min_duration_s), np.log(cfg.max_duration_s))))
    fps = float(rng.choice([24.0, 25.0, 29.97, 30.0]))
    duration_frame = int(round(duration_s * fps))
    base = (duration_frame // 16) * 16
    # feature_frame differs from the output-duration rule for a share of videos, as in BSN's list
    feature_frame = int(base + rng.choice([0, -16, 16], p=[0.7, 0.2, 0.1]))
    feature_frame = max(16, feature_frame)
    covered_s = corrected_second(duration_s, duration_frame, feature_frame)

    # ~5% of videos without actions, then 1, 2, ... with halving probability
    weights = np.concatenate([[0.05], 0.5 ** np.arange(cfg.max_actions)])
    num_actions = int(rng.choice(cfg.max_actions + 1, p=weights / weights.sum()))
    T, C = cfg.temporal_dim, cfg.feat_dim
    feat = rng.normal(0.0, cfg.noise_std, size=(T, C))
    feat += rng.normal(0.0, 0.5, size=(1, C))  # per-video offset
    drift = np.cumsum(rng.normal(0.0, cfg.drift_std / np.sqrt(T), size=(T, C)), axis=0)
    feat += drift

    annotations = []
    if num_actions:
        segs_u = place_segments(rng, _sample_action_coverages(rng, num_actions))
        labels = rng.integers(cfg.num_classes, size=num_actions)
        cover = snippet_coverage(segs_u, T)
        amp = rng.uniform(0.6, 1.4, size=num_actions) * cfg.signal_amplitude
        feat += (cover * amp[:, None]).T @ class_dirs[labels]
        # clip to the video: segments in seconds of the covered part, never beyond the video
        for (u0, u1), label in zip(segs_u, labels):
            start_s = float(min(u0 * covered_s, duration_s))
            end_s = float(min(u1 * covered_s, duration_s))
            if end_s > start_s:
                annotations.append({'segment': [start_s, end_s],
                                    'label': f'Synthetic action {label:02d}'})
    if rng.random() < cfg.distractor_rate:
        # an unlabelled event: features change, but it is not an action
        d_len = rng.uniform(0.03, 0.15)
        d_start = rng.uniform(0.0, 1.0 - d_len)
        cover = snippet_coverage(np.array([[d_start, d_start + d_len]]), T)[0]
        feat += np.outer(cover, distractor_dirs[rng.integers(len(distractor_dirs))]) * cfg.signal_amplitude

    record = {
        'duration_second': round(duration_s, 3),
        'duration_frame': duration_frame,
        'annotations': annotations,
        'feature_frame': feature_frame,
        'fps': fps,
        'rfps': fps,
    }
    return record, feat.astype(np.float32)


def _write_feature(path: str, feat: np.ndarray) -> None:
    if path.endswith('.npy'):
        atomic_save_npy(path, feat)
        return
    header = ','.join(f'f{i}' for i in range(feat.shape[1]))
    with atomic_open(path, 'w', encoding='utf-8') as f:
        f.write(header + '\n')
        np.savetxt(f, feat, fmt='%.4f', delimiter=',')


def generate_synthetic_activitynet(out_dir: str, num_train: int = 200, num_val: int = 100,
                                   seed: int = 0, feature_ext: str = '.csv',
                                   cfg: SyntheticConfig | None = None) -> Dict[str, str]:
    """Write a synthetic ActivityNet-like data set; returns the paths written.

    Args:
        out_dir: output folder (created).
        num_train / num_val: videos per split.
        seed: the whole data set is a function of the seed and the config.
        feature_ext: ``'.csv'`` (MMAction2's csv_mean_100 layout) or ``'.npy'``.

    Returns:
        dict with ``feature_dir``, ``ann_file_train``, ``ann_file_val``, ``action_name_file``.
    """
    cfg = cfg or SyntheticConfig()
    if cfg.feat_dim % 4:
        raise ValueError(f'feat_dim must be divisible by 4 (BMN uses groups=4), got {cfg.feat_dim}')
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(cfg.num_classes + 3, cfg.feat_dim))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    # spread the unit direction over the dims so the per-dimension shift is visible but small
    dirs *= np.sqrt(cfg.feat_dim / 8.0)
    class_dirs, distractor_dirs = dirs[:cfg.num_classes], dirs[cfg.num_classes:]

    feature_dir = osp.join(out_dir, 'features')
    os.makedirs(feature_dir, exist_ok=True)
    ids = _video_ids(rng, num_train + num_val)
    paths = {'feature_dir': feature_dir}
    for split, names in (('train', ids[:num_train]), ('val', ids[num_train:])):
        annos = {}
        for name in names:
            record, feat = make_video(rng, cfg, class_dirs, distractor_dirs)
            _write_feature(osp.join(feature_dir, name + feature_ext), feat)
            annos[name] = record
        path = osp.join(out_dir, f'anet_anno_{split}.json')
        atomic_write_json(path, annos)
        paths[f'ann_file_{split}'] = path
    names_path = osp.join(out_dir, 'action_name.csv')
    with atomic_open(names_path, 'w', encoding='utf-8') as f:
        f.write('action\n')
        f.writelines(f'Synthetic action {k:02d}\n' for k in range(cfg.num_classes))
    paths['action_name_file'] = names_path
    return paths
