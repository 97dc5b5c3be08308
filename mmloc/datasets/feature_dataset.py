"""``FeatureDataset``: one dataset for snippet features of ActivityNet, THUMOS14 or your own.

Annotation JSON, either layout:

* official / ActionFormer: ``{"database": {vid: {"subset", "duration", "fps"?,
  "annotations": [{"segment": [start_s, end_s], "label": name, "label_id"?: int}]}}}``
* MMAction2: ``{vid: {"duration_second", "annotations": [...], "fps"? ...}}``

One feature file per video: ``<data_prefix['feature']>/<feature_name_tmpl.format(vid)>``
(``.csv`` with a header, ``.npy``, ``.npz``, ``.pt``), rows = snippets every
``feat_stride`` frames, each over ``feat_num_frames`` frames. Each video's
:class:`~mmloc.structures.TimeGrid` is built when its features are loaded.

How a sequence is fitted to the model is explicit (``fit_mode``; ``None`` uses the
features as stored, e.g. MMAction2's pre-resized ``csv_mean_100``):

* ``'resize'``: every video resized to ``num_steps`` positions (``ResizeFeature``);
* ``'pad'``: in training cropped to at most ``num_steps`` (a random window,
  ``CropFeature``); padded per batch with a mask by ``localization_collate`` (testing
  sees whole videos);
* ``'sliding'``: each video cut into windows of ``num_steps`` positions every
  ``window_stride`` (the last window flush with the end), one data item per window.
"""
from __future__ import annotations

import copy
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset

from mmloc.registry import DATASETS
from mmloc.structures import window_offsets
from mmloc.utils.io import load_json_file, read_utf8_text
from mmloc.utils.validation import (FormatError, check_label, check_number, check_video_ids,
                                    warn_outside_duration)
from .annotations import classes_by_label_id, validate_segments
from .transforms.loading import FEATURE_EXTS, feature_length

FIT_MODES = (None, 'resize', 'pad', 'sliding')


def read_video_list(path: str) -> List[str]:
    """Video ids of a text file, one per line (``#`` comments and blank lines skipped)."""
    lines = read_utf8_text(path, 'video list').splitlines()
    return [ln.split('#', 1)[0].strip() for ln in lines if ln.split('#', 1)[0].strip()]


@DATASETS.register_module()
class FeatureDataset(BaseDataset):
    """Videos with snippet features and temporal annotations in seconds.

    Args:
        ann_file: annotation JSON (see the module docstring for the two layouts).
        pipeline: transforms; the fit transform of ``fit_mode`` is inserted after
            ``LoadLocalizationFeature``.
        data_prefix: ``dict(feature=DIR)``.
        feature_name_tmpl: file name of a video's features, e.g. ``'{}.npy'`` or
            ``'v_{}.csv'``.
        subset: keep the videos of this subset (``'training'``, ``'validation'``, ...), for
            the database layout, compared case-insensitively (ActionFormer's THUMOS JSON
            writes ``'Validation'``); a list keeps several; None keeps all.
        classes: class names in id order; None: the file's top-level ``classes`` list, else
            the annotations' ``label_id`` when every annotation has one (and they are
            0..K-1), else the sorted names found in the file.
        fps: frames per second when a video has none; feat_stride, feat_num_frames: frames
            between / under consecutive feature rows.
        fps_overrides_file: use ``fps`` for every video even when the file has one
            (ActionFormer's ``default_fps``: ANet TSP features are sampled at 15 fps whatever
            the video's own rate).
        fit_mode: ``None``, ``'resize'``, ``'pad'`` or ``'sliding'`` (module docstring).
        num_steps: T of ``resize``, the maximum length of ``pad``, the window of ``sliding``.
        window_stride: step between windows (``sliding``); default ``num_steps // 2``.
        missing_files: a text file of video ids that have no features (skipped).
        check_files: fail at construction when a feature file is missing.
    """

    def __init__(self, ann_file: str, pipeline: Sequence = (),
                 data_prefix: dict = dict(feature=''), feature_name_tmpl: str = '{}.npy',
                 subset: Optional[str] = None, classes: Optional[Sequence[str]] = None,
                 fps: Optional[float] = None, feat_stride: float = 16,
                 feat_num_frames: float = 16, fit_mode: str = 'pad',
                 num_steps: Optional[int] = None, window_stride: Optional[int] = None,
                 missing_files: Optional[str] = None, check_files: bool = True,
                 fps_overrides_file: bool = False, **kwargs) -> None:
        if fit_mode not in FIT_MODES:
            raise ValueError(f'FeatureDataset: fit_mode must be one of {FIT_MODES}, '
                             f'got {fit_mode!r}')
        if fit_mode in ('resize', 'sliding') and not num_steps:
            raise ValueError(f'FeatureDataset: fit_mode={fit_mode!r} needs num_steps')
        if not osp.splitext(feature_name_tmpl)[1] in FEATURE_EXTS:
            raise ValueError(f'FeatureDataset: feature_name_tmpl {feature_name_tmpl!r} must end '
                             f'with one of {FEATURE_EXTS}')
        self.feature_name_tmpl = feature_name_tmpl
        self.subset = subset
        self.classes = tuple(classes) if classes is not None else None
        self.default_fps = fps
        self.fps_overrides_file = fps_overrides_file
        if fps_overrides_file and fps is None:
            raise ValueError('FeatureDataset: fps_overrides_file needs fps')
        self.feat_stride = float(feat_stride)
        self.feat_num_frames = float(feat_num_frames)
        self.fit_mode = fit_mode
        self.num_steps = num_steps
        self.window_stride = window_stride or (max(1, num_steps // 2) if num_steps else None)
        self.missing_files = missing_files
        self.check_files = check_files
        pipeline = self._with_fit_transform(list(pipeline), kwargs.get('test_mode', False))
        super().__init__(ann_file=ann_file, pipeline=pipeline, data_prefix=data_prefix,
                         **kwargs)
        self._metainfo['classes'] = self.classes

    def _with_fit_transform(self, pipeline: list, test_mode: bool) -> list:
        fit = None
        if self.fit_mode == 'resize':
            fit = dict(type='ResizeFeature', num_steps=self.num_steps)
        elif self.fit_mode == 'pad' and self.num_steps and not test_mode:
            # testing sees whole videos (padded per batch); training crops long ones
            fit = dict(type='CropFeature', max_length=self.num_steps, random=True)
        if fit is None:
            return pipeline
        for i, t in enumerate(pipeline):
            name = t.get('type') if isinstance(t, dict) else type(t).__name__
            if name == 'LoadLocalizationFeature':
                return pipeline[:i + 1] + [fit] + pipeline[i + 1:]
        raise ValueError('FeatureDataset: the pipeline has no LoadLocalizationFeature to fit '
                         'after')

    # ------------------------------------------------------------------ annotations
    def _records(self) -> dict:
        data = load_json_file(self.ann_file, top_level_name='video id')
        if not isinstance(data, dict):
            raise FormatError(f'{self.ann_file}: expected a JSON object, got '
                              f'{type(data).__name__}')
        if isinstance(data.get('database'), dict):
            if self.classes is None and 'classes' in data:
                self.classes = self._file_classes(data['classes'])
            data = data['database']
            check_video_ids(data, self.ann_file)
            if self.subset is not None:
                wanted = {str(x).lower() for x in ([self.subset] if isinstance(
                    self.subset, str) else self.subset)}
                data = {k: v for k, v in data.items()
                        if isinstance(v, dict) and str(v.get('subset')).lower() in wanted}
        else:
            check_video_ids(data, self.ann_file)
        return data

    def _file_classes(self, classes) -> tuple:
        """The file's top-level ``classes``: a list of distinct names."""
        where = f'{self.ann_file}: "classes"'
        if not isinstance(classes, list):
            raise FormatError(f'{where} must be a list of class names, got '
                              f'{type(classes).__name__}')
        names = tuple(str(check_label(c, f'{where} entry {i}')) for i, c in enumerate(classes))
        if len(set(names)) != len(names):
            raise FormatError(f'{where} lists a class more than once: {list(names)[:10]}')
        return names

    def _duration(self, vid: str, rec: dict) -> float:
        for key in ('duration_second', 'duration'):
            if key in rec:
                return check_number(rec[key], f'{self.ann_file}: video {vid}: "{key}"',
                                    positive=True)
        raise FormatError(f'{self.ann_file}: video {vid}: needs a positive "duration" (or '
                          '"duration_second") in seconds')

    def _class_index(self, records: dict) -> dict:
        if self.classes is None:
            anns = [a for r in records.values() if isinstance(r, dict)
                    and isinstance(r.get('annotations', []), list)
                    for a in r.get('annotations', []) if isinstance(a, dict) and 'label' in a]
            self.classes = classes_by_label_id(records, self.ann_file) or tuple(
                sorted({str(a['label']) for a in anns}))
        return {name: i for i, name in enumerate(self.classes)}

    def parse_record(self, vid: str, rec, index: dict) -> dict:
        """One video's data info (seconds, class ids, feature path, grid parameters)."""
        if not isinstance(rec, dict):
            raise FormatError(f'{self.ann_file}: video {vid}: expected an object, got '
                              f'{type(rec).__name__}')
        duration_s = self._duration(vid, rec)
        anns = validate_segments(self.ann_file, vid, rec.get('annotations', []))
        for i, ann in enumerate(anns):
            label = ann.get('label')
            if label is not None and str(label) not in index:
                raise FormatError(f'{self.ann_file}: video {vid}: annotations[{i}].label '
                                  f'{label!r} is not one of the {len(index)} classes')
            ann['label_id'] = index[str(label)] if label is not None else 0
        fps = self.default_fps if self.fps_overrides_file else rec.get('fps', self.default_fps)
        if fps is None:
            raise FormatError(f'{self.ann_file}: video {vid}: no "fps" and no dataset fps')
        fps = check_number(fps, f'{self.ann_file}: video {vid}: "fps"', positive=True)
        return dict(video_name=vid, duration_second=duration_s, fps=fps,
                    feat_stride=self.feat_stride, feat_num_frames=self.feat_num_frames,
                    annotations=anns, feature_path=self.feature_path(vid))

    prefix_key = 'feature'

    def feature_path(self, vid: str) -> str:
        return osp.join(self.data_prefix.get(self.prefix_key, ''),
                        self.feature_name_tmpl.format(vid))

    def load_data_list(self) -> List[dict]:
        records = self._records()
        skip = set(read_video_list(self.missing_files)) if self.missing_files else set()
        records = {k: v for k, v in records.items() if k not in skip}
        if not records:
            raise FormatError(f'{self.ann_file}: the annotation file holds no videos'
                             + (f' in subset {self.subset!r}' if self.subset else '')
                             + ' (empty data split)')
        index = self._class_index(records)
        data_list, missing, outside = [], [], []
        for vid, rec in records.items():
            info = self.parse_record(vid, rec, index)
            outside += [(vid, f'annotations[{i}].segment', a['segment'], info['duration_second'])
                        for i, a in enumerate(info['annotations'])
                        if a['segment'][0] < 0 or a['segment'][1] > info['duration_second']]
            if self.check_files and not osp.isfile(info['feature_path']):
                missing.append(info['feature_path'])
            data_list.append(info)
        # Documented clip-and-warn: training labels are clipped to the video (label
        # transforms clip), evaluation keeps the annotated seconds, as the official
        # ActivityNet evaluator does. One warning per file, not per segment.
        warn_outside_duration(self.ann_file, outside, 'duration_second',
                              'training labels are clipped to the video, evaluation uses the '
                              'segments as annotated')
        if missing:
            shown = ', '.join(missing[:3]) + (f' and {len(missing) - 3} more'
                                              if len(missing) > 3 else '')
            prefix = self.data_prefix.get(self.prefix_key, '')
            raise FileNotFoundError(
                f'{self.ann_file}: {len(missing)} of {len(data_list)} feature files are missing '
                f'under data_prefix {prefix!r}: {shown} (list the ids without features in '
                'missing_files to skip them)')
        if self.fit_mode == 'sliding':
            data_list = self._windows(data_list)
        return data_list

    def _windows(self, data_list: List[dict]) -> List[dict]:
        out = []
        for info in data_list:
            length = feature_length(info['feature_path'])
            for start in window_offsets(length, self.num_steps, self.window_stride):
                item = copy.deepcopy(info)
                item['window'] = (start, self.num_steps)
                out.append(item)
        return out
