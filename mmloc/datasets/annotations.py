"""Reading and checking temporal annotations: MMAction2 JSON records and their segments.

The checks are the ones of every mmloc reader (:mod:`mmloc.utils.validation`); errors are
:class:`~mmloc.utils.validation.FormatError` (a ``ValueError``; a missing field also a
``KeyError``) naming the file, the video, the item and the field."""
from __future__ import annotations

import os
import warnings

from mmloc.utils.io import load_json_file
from mmloc.utils.validation import (FormatError, FormatKeyError, check_label, check_number,
                                    check_segment, check_video_ids)

REQUIRED_KEYS = ('duration_second', 'duration_frame', 'annotations', 'feature_frame')


def load_annotation_json(ann_file: str) -> dict:
    """Read an MMAction2 annotation JSON (``{video_name: record}``) with clear errors.

    A video id (or a record field) listed twice is an error: ``json.loads`` would
    silently keep the last one and drop the other video's annotations. So are two ids
    that are the same video once ``v_`` is removed (``v_abc`` and ``abc``).
    """
    data = load_json_file(ann_file, top_level_name='video id')
    if not isinstance(data, dict):
        raise FormatError(f'{ann_file}: expected a JSON object mapping video names to records, '
                          f'got {type(data).__name__}')
    if 'database' in data and isinstance(data['database'], dict):
        raise FormatError(f'{ann_file}: this is an official ActivityNet annotation file '
                          '("database" key); ActivityNetDataset expects the MMAction2 layout '
                          '{video_name: {duration_second, duration_frame, feature_frame, '
                          'annotations}} (see docs/data_preparation.md)')
    check_video_ids(data, ann_file)
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

    Each item is an object with ``segment`` ``[start_s, end_s]`` (finite numbers,
    ``start_s <= end_s``) and, when present, a ``label`` (a name or an integer).
    Errors name the file, the video and the item; zero-length segments are kept with a
    warning (ActivityNet v1.3 has 12; they only ever reach IoU 0).
    """
    if not isinstance(annotations, list):
        raise FormatError(f'{ann_file}: video {video_name}: "annotations" must be a list')
    clean = []
    for i, ann in enumerate(annotations):
        where = f'{ann_file}: video {video_name}: annotations[{i}]'
        if not isinstance(ann, dict):
            raise FormatError(f'{where} must be an object with a "segment", got {ann!r}')
        start_s, end_s = check_segment(ann.get('segment'), f'{where}.segment')
        if 'label' in ann:
            check_label(ann['label'], f'{where}.label')
        if end_s == start_s:
            # Kept for parity with MMAction2 (ActivityNet v1.3 has 12 such segments); they
            # only ever reach IoU 0.
            warnings.warn(f'{where} is zero-length [{start_s}, {end_s}]; kept as is')
        clean.append(dict(ann, segment=[start_s, end_s]))
    return clean


def validate_record(ann_file: str, video_name: str, record) -> dict:
    """Check one annotation record; returns a normalised copy (floats/ints, seconds).

    ``duration_second`` is a positive finite number, ``duration_frame`` and
    ``feature_frame`` positive integers (``300`` or ``300.0``).
    """
    where = f'{ann_file}: video {video_name}'
    if not isinstance(record, dict):
        raise FormatError(f'{where}: expected an object, got {type(record).__name__}')
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise FormatKeyError(f'{where}: missing field(s) {missing}; '
                             f'expected {list(REQUIRED_KEYS)}')
    out = dict(record)
    out['duration_second'] = check_number(record['duration_second'],
                                          f'{where}: field "duration_second"', positive=True)
    for key in ('duration_frame', 'feature_frame'):
        out[key] = check_number(record[key], f'{where}: field "{key}"', positive=True,
                                integer=True)
    out['annotations'] = validate_segments(ann_file, video_name, record['annotations'])
    return out


def remove_duplicate_annotations(annotations: list, tol_s: float = 1e-3,
                                 min_length_s: float | None = 1e-3,
                                 drop_empty: bool = False) -> list:
    """ActionFormer's ``remove_duplicate_annotations`` (actionformer-spec §1.1), in order.

    An annotation is dropped when its start and end are both within ``tol_s`` seconds of an
    earlier *kept* one with the same label (``label_id`` when present, else ``label``), or
    when it is shorter than ``min_length_s`` (ActionFormer: 1e-3 s; TriDet's copy keeps short
    ones: None), or when ``drop_empty`` and its length is ``<= 0`` (TriDet's evaluator).

    Args:
        annotations: ``[{'segment': [start_s, end_s], 'label' | 'label_id': ...}, ...]``.

    Returns:
        the kept annotation dicts (the same objects), in input order.
    """
    kept = []
    for ann in annotations:
        start, end = (float(v) for v in ann['segment'])
        label = ann.get('label_id', ann.get('label'))
        if (min_length_s is not None and end - start < min_length_s) or (
                drop_empty and end - start <= 0):
            continue
        if any(abs(start - float(k['segment'][0])) <= tol_s
               and abs(end - float(k['segment'][1])) <= tol_s
               and label == k.get('label_id', k.get('label')) for k in kept):
            continue
        kept.append(ann)
    return kept


def classes_by_label_id(source, name: str = '<annotations>') -> tuple | None:
    """Class names indexed by the official JSON's ``label_id`` (ActionFormer's layout).

    ``source``: a path, the loaded file, or its ``database`` dict. Every annotation of every
    split counts (upstream builds its ``label -> label_id`` dict from the whole file). Returns
    ``None`` unless every annotation has a ``label_id`` and the ids are ``0 .. n-1``; a
    ``label_id`` naming two labels is an error.
    """
    if isinstance(source, (str, os.PathLike)):
        source, name = load_json_file(source), os.fspath(source)
    data = source
    records = data.get('database', data) if isinstance(data, dict) else {}
    anns = [a for r in records.values() if isinstance(r, dict)
            and isinstance(r.get('annotations', []), list)
            for a in r.get('annotations', []) if isinstance(a, dict) and 'label' in a]
    if not anns or not all('label_id' in a for a in anns):
        return None
    by_id = {}
    for a in anns:
        label_id = check_number(a['label_id'], f'{name}: "label_id" of {a["label"]!r}',
                                integer=True)
        known = by_id.setdefault(label_id, str(a['label']))
        if known != str(a['label']):
            raise FormatError(f'{name}: label_id {a["label_id"]} names both {known!r} and '
                              f'{a["label"]!r}')
    if sorted(by_id) != list(range(len(by_id))):
        return None
    return tuple(by_id[i] for i in range(len(by_id)))
