"""Checks of a data set against a config before any training (``tools/data/check_dataset.py``).

For every feature dataset of the config (train / val / test; ``FeatureDataset`` and
``ActivityNetDataset``): each video has a feature file, its width is the config's ``feat_dim``,
its length agrees with its sidecar and with the video's duration (within a tolerance),
segments lie inside the video, labels are in the class list, no video id appears twice.
Problems are collected, not raised, so that one report lists them all.
"""
from __future__ import annotations

import os.path as osp
from collections import OrderedDict
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from .transforms.loading import feature_length, read_feature_file


@dataclass
class Problem:
    kind: str        # short name of the check, e.g. 'missing feature file'
    video: str
    detail: str
    error: bool = True


def _feature_width(path: str) -> int:
    if path.endswith('.npy'):
        return int(np.load(path, mmap_mode='r', allow_pickle=False).shape[1])
    if path.endswith('.csv'):
        with open(path, encoding='utf-8') as f:
            f.readline()
            return len(f.readline().split(','))
    return int(read_feature_file(path).shape[1])


def _find_load(pipeline) -> dict:
    for t in pipeline or ():
        if isinstance(t, dict) and str(t.get('type', '')).endswith('LoadLocalizationFeature'):
            return t
    return {}


def check_feature_dataset(ds_cfg: dict, model_cfg: Optional[dict] = None,
                          rel_tol: float = 0.05, abs_tol_s: float = 1.0) -> List[Problem]:
    """Problems of one dataset config (see the module docstring)."""
    from .convert import read_activitynet_json
    kind = str(ds_cfg.get('type', '')).split('.')[-1]
    ann_file = ds_cfg.get('ann_file')
    problems: List[Problem] = []
    try:
        videos = read_activitynet_json(ann_file)
    except (OSError, ValueError) as e:
        kind_ = 'duplicate video id' if 'duplicate' in str(e) else 'annotation file'
        return [Problem(kind_, '-', str(e))]
    prefix = ds_cfg.get('data_prefix') or {}
    folder = prefix.get('feature', prefix.get('video', ''))
    tmpl = ds_cfg.get('feature_name_tmpl', '{}.csv' if kind == 'ActivityNetDataset' else '{}.npy')
    load = _find_load(ds_cfg.get('pipeline'))
    model_cfg = model_cfg or {}
    feat_dim = load.get('feat_dim') or model_cfg.get('feat_dim')
    temporal_dim = load.get('temporal_dim') if kind == 'ActivityNetDataset' else None
    classes = ds_cfg.get('classes')
    if classes is None and osp.isfile(ann_file or ''):
        from mmloc.utils.io import load_json_file
        data = load_json_file(ann_file)
        classes = data.get('classes') if isinstance(data, dict) else None
    subset = ds_cfg.get('subset')
    stride = float(ds_cfg.get('feat_stride', 16))
    for vid, rec in videos.items():
        if subset is not None and rec.get('subset') not in (None, subset):
            continue
        duration = rec.get('duration_s')
        for s, e, label in rec['actions']:
            if e <= s:
                problems.append(Problem('empty or inverted segment', vid, f'[{s}, {e}]'))
            elif duration is not None and (s < -1e-6 or e > float(duration) + 1e-3):
                problems.append(Problem('segment outside the video', vid,
                                        f'[{s}, {e}] vs duration {duration}'))
            if classes is not None and label not in classes:
                problems.append(Problem('label not in the class list', vid, repr(label)))
        path = osp.join(folder, tmpl.format(vid))
        if not osp.isfile(path):
            problems.append(Problem('missing feature file', vid, path))
            continue
        try:
            rows, width = feature_length(path), _feature_width(path)
        except (OSError, ValueError) as e:
            problems.append(Problem('unreadable feature file', vid, str(e)))
            continue
        if feat_dim and width != feat_dim:
            problems.append(Problem('feature width differs from the config', vid,
                                    f'{path}: {width} columns, config feat_dim {feat_dim}'))
        if temporal_dim and rows != temporal_dim:
            problems.append(Problem('feature length differs from temporal_dim', vid,
                                    f'{path}: {rows} rows, temporal_dim {temporal_dim}'))
        from mmloc.video.sidecar import read_sidecar, sidecar_path
        if osp.isfile(sidecar_path(path)):
            try:
                side = read_sidecar(path, num_rows=rows)
            except ValueError as e:
                problems.append(Problem('feature length differs from its sidecar', vid, str(e)))
                continue
            covered = float(side['duration_s'])
        else:
            fps = rec.get('fps') or ds_cfg.get('fps')
            if not fps or temporal_dim:
                continue
            covered = rows * stride / float(fps)
        if duration is not None and abs(covered - float(duration)) > max(
                abs_tol_s, rel_tol * float(duration)):
            problems.append(Problem('feature length disagrees with the duration', vid,
                                    f'{path}: features span {covered:.2f} s, annotation '
                                    f'duration {float(duration):.2f} s'))
    return problems


def check_config(cfg) -> 'OrderedDict[str, List[Problem]]':
    """``{'train' | 'val' | 'test': problems}`` of the config's feature datasets."""
    from mmloc.apis.inferencer import _WRAPPERS, _type_name
    out = OrderedDict()
    for split in ('train', 'val', 'test'):
        loader = cfg.get(f'{split}_dataloader')
        ds = loader.get('dataset') if loader else None
        while ds is not None and _type_name(ds) in _WRAPPERS:
            ds = _WRAPPERS[_type_name(ds)](ds)
        if ds is None:
            continue
        if _type_name(ds) not in ('FeatureDataset', 'ActivityNetDataset'):
            out[split] = [Problem('unsupported dataset type', '-', f'{_type_name(ds)}: the '
                                  'check covers FeatureDataset and ActivityNetDataset', False)]
            continue
        out[split] = check_feature_dataset(dict(ds), dict(cfg.get('model') or {}))
    return out


def format_report(report, first: int = 5) -> str:
    """Per split and problem: the count and the first offending videos."""
    lines = []
    for split, problems in report.items():
        if not problems:
            lines.append(f'{split}: ok')
            continue
        groups: 'OrderedDict[str, list]' = OrderedDict()
        for p in problems:
            groups.setdefault(p.kind, []).append(p)
        for kind, items in groups.items():
            level = 'error' if items[0].error else 'warning'
            lines.append(f'{split}: {level}: {kind}: {len(items)} video(s)')
            for p in items[:first]:
                lines.append(f'    {p.video}: {p.detail}')
            if len(items) > first:
                lines.append(f'    ... {len(items) - first} more')
    return '\n'.join(lines)
