"""Seeded synthetic THUMOS14-like data for SSN, in both on-disk layouts.

* **Features** (``generate_synthetic_thumos_features``): ``features/<video_id>.npy``
  (C, T) float32, one snippet every ``snippet_frames`` frames, and
  ``thumos_anno_{train,val}.json`` ``{video_id: {subset, duration_second, duration_frame,
  fps, annotations: [{segment: [start_s, end_s], label: name}]}}`` plus ``classes.txt``.
  THUMOS-like statistics: minutes-long videos, several short actions per video.
* **Frames** (``generate_synthetic_thumos_frames``): ``rawframes/<video_id>/img_%05d.jpg``
  (tiny JPEGs) and denormalised TAG proposal lists ``thumos14_tag_{val,test}_proposal_list.txt``
  (fps line 1, boundaries in frames, spec §1.7) whose proposals are sliding windows with
  their best IoU / overlap.

Features reuse the ActivityNet generator's segment placement and snippet coverage
(``mmloc.testing._segment_layout``): a class direction weighted by snippet coverage, plus a
per-video offset, drift and white noise.
"""
from __future__ import annotations

import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict

import numpy as np
from PIL import Image

from mmloc.models.task_modules import sliding_window_proposals
from mmloc.utils.io import atomic_open, atomic_save_npy, atomic_write_json

from ._segment_layout import place_segments, snippet_coverage


@dataclass
class SyntheticThumosConfig:
    """Knobs of the feature generator (seconds, frames, feature width)."""
    num_classes: int = 5
    feat_dim: int = 64
    fps: float = 30.0
    snippet_frames: int = 8
    min_duration_s: float = 40.0
    max_duration_s: float = 120.0
    min_actions: int = 2
    max_actions: int = 6
    min_action_s: float = 2.0
    max_action_s: float = 10.0
    signal_amplitude: float = 2.0
    noise_std: float = 1.0
    drift_std: float = 0.3


def class_names(num_classes: int):
    return [f'SynthAction{k:02d}' for k in range(num_classes)]


def _make_feature_video(rng, cfg: SyntheticThumosConfig, class_dirs: np.ndarray):
    duration_s = float(rng.uniform(cfg.min_duration_s, cfg.max_duration_s))
    num_frames = int(round(duration_s * cfg.fps))
    t = num_frames // cfg.snippet_frames
    n_act = int(rng.integers(cfg.min_actions, cfg.max_actions + 1))
    cov = rng.uniform(cfg.min_action_s, cfg.max_action_s, n_act) / duration_s
    segs_u = place_segments(rng, cov * min(1.0, 0.8 / cov.sum()))
    labels = rng.integers(cfg.num_classes, size=n_act)
    feat = rng.normal(0.0, cfg.noise_std, size=(t, cfg.feat_dim))
    feat += rng.normal(0.0, 0.5, size=(1, cfg.feat_dim))
    feat += np.cumsum(rng.normal(0.0, cfg.drift_std / np.sqrt(t), size=feat.shape), axis=0)
    amp = rng.uniform(0.7, 1.3, n_act) * cfg.signal_amplitude
    feat += (snippet_coverage(segs_u, t) * amp[:, None]).T @ class_dirs[labels]
    covered_s = t * cfg.snippet_frames / cfg.fps  # features cover whole snippets only
    anns = [dict(segment=[round(u0 * covered_s, 3), round(u1 * covered_s, 3)],
                 label=class_names(cfg.num_classes)[c]) for (u0, u1), c in zip(segs_u, labels)]
    record = dict(duration_second=round(num_frames / cfg.fps, 3), duration_frame=num_frames,
                  fps=cfg.fps, annotations=anns)
    return record, feat.T.astype(np.float32)


def generate_synthetic_thumos_features(out_dir: str, num_train: int = 60, num_val: int = 30,
                                       seed: int = 0,
                                       cfg: SyntheticThumosConfig | None = None
                                       ) -> Dict[str, str]:
    """Write the feature layout; returns ``feature_dir``, ``ann_file_{train,val}``,
    ``class_file``."""
    cfg = cfg or SyntheticThumosConfig()
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(cfg.num_classes, cfg.feat_dim))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    dirs *= np.sqrt(cfg.feat_dim / 8.0)
    feature_dir = osp.join(out_dir, 'features')
    os.makedirs(feature_dir, exist_ok=True)
    paths = dict(feature_dir=feature_dir)
    k = 0
    for split, n in (('train', num_train), ('val', num_val)):
        annos = {}
        for _ in range(n):
            vid = f'video_{split}_{k:07d}'
            k += 1
            record, feat = _make_feature_video(rng, cfg, dirs)
            record['subset'] = split
            atomic_save_npy(osp.join(feature_dir, vid + '.npy'), feat)
            annos[vid] = record
        paths[f'ann_file_{split}'] = osp.join(out_dir, f'thumos_anno_{split}.json')
        atomic_write_json(paths[f'ann_file_{split}'], annos, indent=1)
    paths['class_file'] = osp.join(out_dir, 'classes.txt')
    with atomic_open(paths['class_file'], 'w', encoding='utf-8') as f:
        f.writelines(name + '\n' for name in class_names(cfg.num_classes))
    return paths


def format_proposal_block(idx: int, video_id: str, num_frames: int, gt_rows,
                          proposal_rows) -> str:
    """One denormalised TAG block (spec §1.7): fps line 1, integer frame boundaries."""
    lines = [f'# {idx}', video_id, str(num_frames), '1', str(len(gt_rows))]
    lines += [f'{int(c)} {int(s)} {int(e)}' for c, s, e in gt_rows]
    lines.append(str(len(proposal_rows)))
    lines += [f'{int(c)} {iou:.4f} {ov:.4f} {int(s)} {int(e)}'
              for c, iou, ov, s, e in proposal_rows]
    return '\n'.join(lines) + '\n'


def generate_synthetic_thumos_frames(out_dir: str, num_val: int = 4, num_test: int = 2,
                                     num_classes: int = 3, min_frames: int = 40,
                                     max_frames: int = 80, image_size: int = 32,
                                     seed: int = 0) -> Dict[str, str]:
    """Write tiny raw frames + denormalised TAG proposal lists (val for training, test).

    Each class has a colour; frames inside an action are tinted with it, others are grey
    noise. Returns ``frame_dir``, ``proposal_file_val``, ``proposal_file_test``.
    """
    rng = np.random.default_rng(seed)
    colours = rng.uniform(40, 215, size=(num_classes, 3))
    frame_dir = osp.join(out_dir, 'rawframes')
    paths = dict(frame_dir=frame_dir)
    for split, n in (('val', num_val), ('test', num_test)):
        blocks = []
        for i in range(n):
            vid = f'video_{split}_{i:07d}'
            num_frames = int(rng.integers(min_frames, max_frames + 1))
            n_act = int(rng.integers(1, 3))
            cov = rng.uniform(0.15, 0.3, n_act)
            segs_u = place_segments(rng, cov)
            gts = np.round(segs_u * num_frames).astype(int)
            gts[:, 1] = np.maximum(gts[:, 1], gts[:, 0] + 2)
            labels = rng.integers(num_classes, size=n_act) + 1
            os.makedirs(osp.join(frame_dir, vid), exist_ok=True)
            for f in range(num_frames):
                img = rng.normal(128, 20, size=(image_size, image_size, 3))
                for (s, e), c in zip(gts, labels):
                    if s <= f < e:
                        img = 0.3 * img + 0.7 * colours[c - 1]
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
                    osp.join(frame_dir, vid, f'img_{f + 1:05d}.jpg'), quality=90)
            props = sliding_window_proposals(num_frames, gts, labels, (8, 12, 16, 24), 0.25)
            gt_rows = np.column_stack([labels, gts])
            blocks.append(format_proposal_block(i, vid, num_frames, gt_rows, props))
        path = osp.join(out_dir, f'thumos14_tag_{split}_proposal_list.txt')
        with atomic_open(path, 'w', encoding='utf-8') as fh:
            fh.write(''.join(blocks))
        paths[f'proposal_file_{split}'] = path
    return paths
