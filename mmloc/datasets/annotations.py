"""Reading and checking temporal annotations: MMAction2 JSON records and their segments.

Errors name the file, the video, the item and the field."""
from __future__ import annotations

import math
import os.path as osp
import warnings

from mmloc.utils.io import load_json_file

REQUIRED_KEYS = ('duration_second', 'duration_frame', 'annotations', 'feature_frame')


def load_annotation_json(ann_file: str) -> dict:
    """Read an MMAction2 annotation JSON (``{video_name: record}``) with clear errors.

    A video id (or a record field) listed twice is an error: ``json.loads`` would
    silently keep the last one and drop the other video's annotations.
    """
    data = load_json_file(ann_file, top_level_name='video id')
    if not isinstance(data, dict):
        raise ValueError(f'{ann_file}: expected a JSON object mapping video names to records, '
                         f'got {type(data).__name__}')
    if 'database' in data and isinstance(data['database'], dict):
        raise ValueError(f'{ann_file}: this is an official ActivityNet annotation file '
                         '("database" key); ActivityNetDataset expects the MMAction2 layout '
                         '{video_name: {duration_second, duration_frame, feature_frame, '
                         'annotations}} (see docs/data_preparation.md)')
    return data


def segments_beyond_duration(record: dict) -> list:
    """``(index, [start_s, end_s])`` of the annotations reaching outside ``[0, duration_second]``.

    Args:
        record: a record normalised by :func:`validate_record` (seconds).
    """
    duration_s = record['duration_second']
    return [(i, ann['segment']) for i, ann in enumerate(record['annotations'])
            if ann['segment'][0] < 0 or ann['segment'][1] > duration_s]


def validate_segments(ann_file: str, video_name: str, annotations) -> list:
    """Check a video's ``annotations`` list; returns copies with float ``segment`` seconds.

    Errors name the file, the video and the item; zero-length segments are kept with a
    warning (ActivityNet v1.3 has 12; they only ever reach IoU 0).
    """
    if not isinstance(annotations, list):
        raise ValueError(f'{ann_file}: video {video_name}: "annotations" must be a list')
    clean = []
    for i, ann in enumerate(annotations):
        seg = ann.get('segment') if isinstance(ann, dict) else None
        if not (isinstance(seg, (list, tuple)) and len(seg) == 2):
            raise ValueError(f'{ann_file}: video {video_name}: annotations[{i}].segment must be '
                             f'[start_s, end_s], got {seg!r}')
        try:
            start_s, end_s = float(seg[0]), float(seg[1])
        except (TypeError, ValueError):
            raise ValueError(f'{ann_file}: video {video_name}: annotations[{i}].segment is not '
                             f'numeric: {seg!r}') from None
        if not (math.isfinite(start_s) and math.isfinite(end_s)):
            raise ValueError(f'{ann_file}: video {video_name}: annotations[{i}].segment is not '
                             f'finite: {seg!r}')
        if end_s < start_s:
            raise ValueError(f'{ann_file}: video {video_name}: annotations[{i}].segment has a '
                             f'negative duration [{start_s}, {end_s}]')
        if end_s == start_s:
            # Kept for parity with MMAction2 (ActivityNet v1.3 has 12 such segments); they
            # only ever reach IoU 0.
            warnings.warn(f'{ann_file}: video {video_name}: annotations[{i}] is zero-length '
                          f'[{start_s}, {end_s}]; kept as is')
        clean.append(dict(ann, segment=[start_s, end_s]))
    return clean


def validate_record(ann_file: str, video_name: str, record) -> dict:
    """Check one annotation record; returns a normalised copy (floats/ints, seconds)."""
    if not isinstance(record, dict):
        raise ValueError(f'{ann_file}: video {video_name}: expected an object, '
                         f'got {type(record).__name__}')
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise KeyError(f'{ann_file}: video {video_name}: missing field(s) {missing}; '
                       f'expected {list(REQUIRED_KEYS)}')
    out = dict(record)
    try:
        out['duration_second'] = float(record['duration_second'])
        out['duration_frame'] = int(record['duration_frame'])
        out['feature_frame'] = int(record['feature_frame'])
    except (TypeError, ValueError) as e:
        raise ValueError(f'{ann_file}: video {video_name}: bad duration field ({e})') from None
    for key in ('duration_second', 'duration_frame', 'feature_frame'):
        if not out[key] > 0:
            raise ValueError(f'{ann_file}: video {video_name}: field "{key}" must be > 0, '
                             f'got {out[key]}')
    clean = validate_segments(ann_file, video_name, record['annotations'])
    out['annotations'] = clean
    return out


