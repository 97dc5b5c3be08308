"""ActivityNet-style localization dataset over MMAction2 annotation JSON + per-video features."""
from __future__ import annotations

import math
import os.path as osp
import warnings
from typing import List

from mmengine.dataset import BaseDataset

from mmloc.registry import DATASETS
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


@DATASETS.register_module()
class ActivityNetDataset(BaseDataset):
    """Videos of an MMAction2 annotation JSON, each with one feature file.

    Args:
        ann_file: MMAction2 annotation JSON (spec §1.2).
        pipeline: transforms.
        data_prefix: ``dict(video=FEATURE_DIR)``; the feature file of a video is
            ``FEATURE_DIR/<video_name><feature_ext>``.
        feature_ext: ``'.csv'`` (header + T rows x C) or ``'.npy'`` (array (T, C)).
        check_files: raise at construction when a feature file is missing (cheap
            ``os.path`` checks; names the first missing files).
    """

    def __init__(self, ann_file: str, pipeline: list, data_prefix: dict = dict(video=''),
                 feature_ext: str = '.csv', check_files: bool = True, **kwargs) -> None:
        if feature_ext not in ('.csv', '.npy'):
            raise ValueError(f'feature_ext must be ".csv" or ".npy", got {feature_ext!r}')
        self.feature_ext = feature_ext
        self.check_files = check_files
        super().__init__(ann_file=ann_file, pipeline=pipeline, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        data = load_annotation_json(self.ann_file)
        if not data:
            raise ValueError(f'{self.ann_file}: the annotation file holds no videos '
                             '(empty data split)')
        prefix = self.data_prefix.get('video', '')
        data_list, missing, outside = [], [], []
        for video_name, record in data.items():
            info = validate_record(self.ann_file, video_name, record)
            outside += [(video_name, i, seg, info['duration_second'])
                        for i, seg in segments_beyond_duration(info)]
            info['video_name'] = video_name
            info['feature_path'] = osp.join(prefix, video_name + self.feature_ext)
            if self.check_files and not osp.isfile(info['feature_path']):
                missing.append(info['feature_path'])
            data_list.append(info)
        if outside:
            # Documented clip-and-warn: training labels are clipped to the video (see
            # GenerateLocalizationLabels); evaluation keeps the annotated seconds, as the
            # official ActivityNet evaluator does. One warning per file, not per segment.
            shown = '; '.join(f'video {v}: annotations[{i}].segment {seg} vs duration_second {d}'
                              for v, i, seg, d in outside[:3])
            warnings.warn(f'{self.ann_file}: {len(outside)} segment(s) reach outside '
                          f'[0, duration_second] ({shown}{" ..." if len(outside) > 3 else ""}); '
                          'training labels are clipped to the video, evaluation uses the '
                          'segments as annotated')
        if missing:
            shown = ', '.join(missing[:3]) + (f' and {len(missing) - 3} more' if len(missing) > 3 else '')
            raise FileNotFoundError(
                f'{self.ann_file}: {len(missing)} of {len(data_list)} feature files are missing '
                f'under data_prefix {prefix!r}: {shown}')
        return data_list


