"""ActivityNet-style localization dataset over MMAction2 annotation JSON + per-video features.

A ``FeatureDataset`` with MMAction2's record layout (``duration_second``, ``duration_frame``,
``feature_frame``, ``annotations``), ``data_prefix=dict(video=DIR)`` and the features used
as stored (``csv_mean_100``); ``fit_mode='resize', num_steps=100`` accepts raw
variable-length features instead.
"""
from __future__ import annotations

from mmloc.registry import DATASETS
from .annotations import (REQUIRED_KEYS, load_annotation_json,  # noqa: F401 (re-exported)
                          segments_beyond_duration, validate_record, validate_segments)
from .feature_dataset import FeatureDataset


@DATASETS.register_module()
class ActivityNetDataset(FeatureDataset):
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

    prefix_key = 'video'

    def __init__(self, ann_file: str, pipeline: list, data_prefix: dict = dict(video=''),
                 feature_ext: str = '.csv', check_files: bool = True, fit_mode=None,
                 num_steps=None, **kwargs) -> None:
        if feature_ext not in ('.csv', '.npy'):
            raise ValueError(f'feature_ext must be ".csv" or ".npy", got {feature_ext!r}')
        self.feature_ext = feature_ext
        super().__init__(ann_file=ann_file, pipeline=pipeline, data_prefix=data_prefix,
                         feature_name_tmpl='{}' + feature_ext, check_files=check_files,
                         fit_mode=fit_mode, num_steps=num_steps, **kwargs)

    def _records(self) -> dict:
        return load_annotation_json(self.ann_file)

    def _class_index(self, records: dict) -> dict:
        return {}                    # labels stay as annotated (names), as in MMAction2

    def parse_record(self, vid: str, rec, index: dict) -> dict:
        info = validate_record(self.ann_file, vid, rec)
        info['video_name'] = vid
        info['feature_path'] = self.feature_path(vid)
        return info
