"""Annotations of other tools -> mmloc's annotation JSON (``tools/data/convert_annotations.py``).

Readers return ``{video_id: dict(subset=None | str, duration_s=None | float, fps=None | float,
actions=[(start_s, end_s, label)])}``; :func:`to_database` writes the official / ActionFormer
``database`` layout that :class:`~mmloc.datasets.FeatureDataset` reads, :func:`to_mmaction2` the
MMAction2 ActivityNet layout (BMN / BSN configs). Every reader names the file and the line or
video of a bad entry.
"""
from __future__ import annotations

import csv
import glob
import os.path as osp
from typing import Dict, Optional

from mmloc.utils.io import load_json_file


def _video(store: dict, vid: str) -> dict:
    return store.setdefault(vid, dict(subset=None, duration_s=None, fps=None, actions=[]))


def read_plain_csv(path: str, fps: Optional[float] = None) -> Dict[str, dict]:
    """``video,start_s,end_s,label`` (a header line naming these columns; ``start_frame,
    end_frame`` instead of seconds with ``fps``; optional ``subset`` / ``duration_s``)."""
    out: dict = {}
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        cols = set(reader.fieldnames or ())
        frames = {'start_frame', 'end_frame'} <= cols
        seconds = {'start_s', 'end_s'} <= cols
        if 'video' not in cols or 'label' not in cols or not (frames or seconds):
            raise ValueError(f'{path}: expected a header "video,start_s,end_s,label" (or '
                             f'start_frame,end_frame with --fps), got {reader.fieldnames}')
        if frames and not seconds and not fps:
            raise ValueError(f'{path}: the times are frames (start_frame, end_frame): give --fps')
        for lineno, row in enumerate(reader, 2):
            try:
                if seconds:
                    start, end = float(row['start_s']), float(row['end_s'])
                else:
                    start, end = float(row['start_frame']) / fps, float(row['end_frame']) / fps
            except (TypeError, ValueError):
                raise ValueError(f'{path}:{lineno}: start/end must be numbers, got '
                                 f'{dict(row)}') from None
            if not row['video'] or not row['label']:
                raise ValueError(f'{path}:{lineno}: empty video or label')
            if end <= start:
                raise ValueError(f'{path}:{lineno}: video {row["video"]}: the action ends '
                                 f'({end}) before it starts ({start})')
            rec = _video(out, row['video'].strip())
            rec['actions'].append((start, end, row['label'].strip()))
            if row.get('subset'):
                rec['subset'] = row['subset'].strip()
            if row.get('duration_s'):
                rec['duration_s'] = float(row['duration_s'])
    return out


def read_activitynet_json(path: str) -> Dict[str, dict]:
    """The official ActivityNet / ActionFormer / OpenTAD ``{"database": {vid: {subset,
    duration, (fps), annotations: [{segment, label}]}}}`` or MMAction2's ``{vid:
    {duration_second, annotations}}``."""
    data = load_json_file(path, 'video id')
    db = data.get('database', data) if isinstance(data, dict) else None
    if not isinstance(db, dict):
        raise ValueError(f'{path}: expected {{"database": {{video: ...}}}} or {{video: ...}}')
    out = {}
    for vid, rec in db.items():
        if not isinstance(rec, dict) or not isinstance(rec.get('annotations'), list):
            raise ValueError(f'{path}: video {vid}: expected a record with "annotations"')
        item = _video(out, vid)
        item['subset'] = rec.get('subset')
        item['duration_s'] = rec.get('duration', rec.get('duration_second'))
        item['fps'] = rec.get('fps')
        for i, ann in enumerate(rec['annotations']):
            try:
                start, end = (float(x) for x in ann['segment'])
                label = str(ann['label'])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f'{path}: video {vid}: annotation {i} needs "segment": '
                                 '[start_s, end_s] and "label"') from None
            item['actions'].append((start, end, label))
    return out


def read_thumos_txt(folder: str, subset: Optional[str] = None) -> Dict[str, dict]:
    """THUMOS14's per-class files ``<Class>_<split>.txt`` of ``video start_s end_s`` lines
    (``Ambiguous_*`` kept as the label ``Ambiguous``)."""
    files = sorted(glob.glob(osp.join(folder, '*.txt')))
    if not files:
        raise ValueError(f'{folder}: no THUMOS14 per-class .txt files')
    out: dict = {}
    for path in files:
        label = osp.basename(path).rsplit('_', 1)[0]
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    vid, start, end = parts[0], float(parts[1]), float(parts[2])
                except (IndexError, ValueError):
                    raise ValueError(f'{path}:{lineno}: expected "video start_s end_s", got '
                                     f'{line.strip()!r}') from None
                rec = _video(out, vid)
                rec['subset'] = subset
                rec['actions'].append((start, end, label))
    return out


def read_annotations(path: str, fmt: str = 'auto', fps: Optional[float] = None) -> Dict[str, dict]:
    """Dispatch on ``fmt`` (``csv``, ``activitynet`` (also MMAction2, ActionFormer, OpenTAD),
    ``thumos``) or on the path (a folder: THUMOS txt; ``.json``; ``.csv``)."""
    if not osp.exists(path):
        raise FileNotFoundError(f'{path}: annotation file not found')
    if fmt == 'auto':
        fmt = 'thumos' if osp.isdir(path) else 'activitynet' if path.endswith('.json') else 'csv'
    readers = dict(csv=lambda: read_plain_csv(path, fps), activitynet=lambda: read_activitynet_json(path),
                   thumos=lambda: read_thumos_txt(path))
    if fmt not in readers:
        raise ValueError(f'unknown annotation format {fmt!r} (one of {sorted(readers)})')
    return readers[fmt]()


def read_split_csv(path: str) -> Dict[str, str]:
    """``video,subset`` rows -> ``{video: subset}``."""
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        if not {'video', 'subset'} <= set(reader.fieldnames or ()):
            raise ValueError(f'{path}: expected a header "video,subset"')
        return {row['video'].strip(): row['subset'].strip() for row in reader}


def fill_from_sidecars(videos: Dict[str, dict], feature_dir: str, name_tmpl: str) -> list:
    """Durations / fps / feature grid of each video from its feature sidecar; returns the ids
    without one."""
    from mmloc.video.sidecar import read_sidecar
    missing = []
    for vid, rec in videos.items():
        path = osp.join(feature_dir, name_tmpl.format(vid))
        try:
            side = read_sidecar(path)
        except FileNotFoundError:
            missing.append(vid)
            continue
        rec['duration_s'] = float(side['duration_s'])
        rec['fps'] = float(side['sampling']['fps'])
        rec['num_frames'] = int(side['num_frames'])
        rec['frames_covered'] = int(side['frames_covered'])
    return missing


def fill_from_videos(videos: Dict[str, dict], video_dir: str) -> list:
    from mmloc.video import VIDEO_EXTS, probe_video
    missing = []
    for vid, rec in videos.items():
        found = [osp.join(video_dir, vid + e) for e in VIDEO_EXTS
                 if osp.isfile(osp.join(video_dir, vid + e))]
        if not found:
            missing.append(vid)
            continue
        info = probe_video(found[0])
        rec['duration_s'], rec['fps'] = info.duration_s, info.average_fps
        if info.duration_s and info.average_fps:
            rec['num_frames'] = int(round(info.duration_s * info.average_fps))
    return missing


def class_list(videos: Dict[str, dict]) -> list:
    return sorted({a[2] for rec in videos.values() for a in rec['actions']})


def to_database(videos: Dict[str, dict], classes: list) -> dict:
    """The ``database`` layout (seconds) with ``classes`` in id order and ``label_id``."""
    index = {c: i for i, c in enumerate(classes)}
    db = {}
    for vid, rec in videos.items():
        entry = dict(subset=rec.get('subset') or 'training', duration=rec['duration_s'],
                     annotations=[dict(segment=[s, e], label=lbl, label_id=index[lbl])
                                  for s, e, lbl in rec['actions']])
        if rec.get('fps'):
            entry['fps'] = rec['fps']
        db[vid] = entry
    return dict(version='mmloc-annotations-1', classes=list(classes), database=db)


def to_mmaction2(videos: Dict[str, dict], subset: str) -> dict:
    """MMAction2's ActivityNet layout for one subset: ``duration_frame`` = resampled frames,
    ``feature_frame`` = the frames the snippets cover (from the sidecars), so the BMN grid's
    seconds are the features' own."""
    out = {}
    for vid, rec in videos.items():
        if (rec.get('subset') or 'training') != subset:
            continue
        frames = rec.get('num_frames') or int(round(rec['duration_s'] * (rec.get('fps') or 30)))
        out[vid] = dict(duration_second=rec['duration_s'], duration_frame=frames,
                        feature_frame=rec.get('frames_covered', frames), fps=rec.get('fps'),
                        annotations=[dict(segment=[s, e], label=lbl)
                                     for s, e, lbl in rec['actions']])
    return out
