"""THUMOS14 as AFSD reads it: per-video frame arrays cut into sliding windows (spec §1).

Files (``thumos_annotations/`` of AFSD, or our synthetic generator's copy):

* ``{val,test}_video_info.csv``: ``video,fps,sample_fps,count,sample_count``.
* ``{val,test}_Annotation_ours.csv``: ``video,type,type_idx,start,end,startFrame,endFrame``
  (``startFrame``/``endFrame`` in original-fps frames; ``start``/``end`` in seconds).
* ``Class_Index_Detection.txt``: rows ``<type_idx> <name>``; row ``j`` is label ``j+1``.
* ``<data_prefix.frames>/<video>.npy``: ``uint8 (T, H, W, C)`` frames at ``sample_fps`` (RGB
  C=3, flow C=2), or ``float32 (T/feature_stride, C)`` snippet features.
* RGB + flow fusion (``modalities=('rgb', 'flow')``): ``<data_prefix.rgb>/<video>.npy`` and
  ``<data_prefix.flow>/<video>.npy``, read together by ``LoadAFSDFrames(modalities=...)``.

Training (``test_mode=False``): one item per kept window (``split_training_windows``), with
``window_gts`` (n, 3) ``[s, e, label]`` in frames of the window (``AFSDBoundaryLabels`` turns
them into the targets). Test: one item per video with ``gt_segments`` (G, 2) seconds,
``gt_labels`` (G,) 0-based and ``annotations``; the model slides its own windows and merges
them (spec §1.6, §5.2).
"""
from __future__ import annotations

import csv
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from mmloc.registry import DATASETS

from .transforms.afsd_windows import split_training_windows

VIDEO_INFO_COLUMNS = ('video', 'fps', 'sample_fps', 'count', 'sample_count')
ANNOTATION_COLUMNS = ('video', 'type', 'type_idx', 'start', 'end', 'startFrame', 'endFrame')


def read_class_index(path: str) -> Tuple[Tuple[str, ...], Dict[int, int]]:
    """Class names (label ``j+1`` = row ``j``) and ``type_idx -> label``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: class index file not found')
    names, to_label = [], {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[0].isdigit():
                raise ValueError(f'{path}: line {lineno}: expected "<type_idx> <name>", got {line!r}')
            to_label[int(parts[0])] = len(names) + 1
            names.append(parts[1])
    return tuple(names), to_label


def _read_csv(path: str, columns) -> List[dict]:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: file not found')
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f'{path}: missing column(s) {missing}; expected {list(columns)}')
        return list(reader)


def read_video_info(path: str) -> Dict[str, dict]:
    """``video -> {fps, sample_fps, count, sample_count}``, in file order."""
    out = {}
    for row in _read_csv(path, VIDEO_INFO_COLUMNS):
        try:
            out[row['video']] = dict(fps=float(row['fps']), sample_fps=float(row['sample_fps']),
                                     count=float(row['count']),
                                     sample_count=int(float(row['sample_count'])))
        except ValueError as e:
            raise ValueError(f'{path}: video {row["video"]}: bad number ({e})') from None
        if out[row['video']]['sample_count'] <= 0 or out[row['video']]['count'] <= 0:
            raise ValueError(f'{path}: video {row["video"]}: count and sample_count must be > 0')
    return out


def read_annotations(path: str, info: Dict[str, dict], to_label: Dict[int, int]
                     ) -> Dict[str, dict]:
    """Per video: ``frames`` (G, 3) ``[s, e, label]`` in resampled frames
    (``startFrame·sample_count/count``) and ``seconds`` (G, 2), ``labels`` (G,) 1-based."""
    per_video = defaultdict(lambda: dict(frames=[], seconds=[]))
    for row in _read_csv(path, ANNOTATION_COLUMNS):
        vid = row['video']
        if row['type'] == 'Ambiguous' or row['type_idx'] in ('0', '-1'):
            continue  # not scored (AFSD's *_ours files already drop them)
        if vid not in info:
            raise KeyError(f'{path}: video {vid} has annotations but is not in the video info file')
        try:
            type_idx = int(row['type_idx'])
            s_f, e_f = float(row['startFrame']), float(row['endFrame'])
            s_s, e_s = float(row['start']), float(row['end'])
        except ValueError as e:
            raise ValueError(f'{path}: video {vid}: bad number ({e})') from None
        if type_idx not in to_label:
            raise KeyError(f'{path}: video {vid}: type_idx {type_idx} not in the class index')
        scale = info[vid]['sample_count'] / info[vid]['count']
        per_video[vid]['frames'].append([s_f * scale, e_f * scale, to_label[type_idx]])
        per_video[vid]['seconds'].append([s_s, e_s])
    return {vid: dict(frames=np.asarray(v['frames'], np.float64).reshape(-1, 3),
                      seconds=np.asarray(v['seconds'], np.float64).reshape(-1, 2))
            for vid, v in per_video.items()}


@DATASETS.register_module()
class ThumosAFSDDataset(BaseDataset):
    """AFSD's THUMOS14 windows (train) or videos (test).

    Args:
        ann_file: ``*_Annotation_ours.csv``.
        video_info_file: ``*_video_info.csv``.
        class_index_file: ``Class_Index_Detection.txt``.
        data_prefix: ``dict(frames=DIR)``, the folder of ``<video><frame_ext>`` arrays.
        clip_length: ``L`` frames (256).
        clip_stride: training window stride (30); ignored in test mode.
        feature_stride: frames per input step: 1 for frame arrays, 4 for snippet features.
        test_mode: one item per video of ``video_info_file`` (training: per kept window of
            every annotated video).
        modalities: e.g. ``('rgb', 'flow')`` for RGB + flow fusion: each item also gets
            ``frame_paths = {modality: <data_prefix[modality]>/<video><frame_ext>}`` (in this
            order, which is the channel order of the concatenated input) and ``frame_path`` is
            the first of them. ``None`` (default): one stream from ``data_prefix.frames``.
    """

    def __init__(self, ann_file: str, video_info_file: str, class_index_file: str,
                 data_prefix: dict = dict(frames=''), frame_ext: str = '.npy',
                 clip_length: int = 256, clip_stride: int = 30, feature_stride: int = 1,
                 modalities: Optional[Sequence[str]] = None, **kwargs):
        self.modalities = tuple(modalities) if modalities is not None else None
        if self.modalities is not None:
            missing = [m for m in self.modalities if m not in (data_prefix or {})]
            if not self.modalities or missing:
                raise ValueError(f'ThumosAFSDDataset: modalities {self.modalities} need a folder '
                                 f'per modality in data_prefix; missing {missing} in '
                                 f'{data_prefix}')
        self.video_info_file = video_info_file
        self.class_index_file = class_index_file
        self.frame_ext = frame_ext
        self.clip_length = clip_length
        self.clip_stride = clip_stride
        self.feature_stride = feature_stride
        if clip_length % feature_stride or clip_stride % feature_stride:
            raise ValueError(f'ThumosAFSDDataset: clip_length {clip_length} and clip_stride '
                             f'{clip_stride} must be multiples of feature_stride {feature_stride}')
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def _join_prefix(self):
        if self.data_root:
            for key in ('video_info_file', 'class_index_file'):
                path = getattr(self, key)
                if path and not osp.isabs(path):
                    setattr(self, key, osp.join(self.data_root, path))
        super()._join_prefix()

    def load_data_list(self) -> List[dict]:
        classes, to_label = read_class_index(self.class_index_file)
        self._metainfo['classes'] = classes
        info = read_video_info(self.video_info_file)
        annos = read_annotations(self.ann_file, info, to_label)
        frame_dir = self.data_prefix.get('frames', '')
        data_list = []
        for vid, meta in info.items():
            anno = annos.get(vid, dict(frames=np.zeros((0, 3)), seconds=np.zeros((0, 2))))
            common = dict(video_name=vid, frame_path=osp.join(frame_dir, vid + self.frame_ext),
                          clip_length=self.clip_length, feature_stride=self.feature_stride,
                          classes=classes, **meta)
            if self.modalities is not None:
                paths = {m: osp.join(self.data_prefix[m], vid + self.frame_ext)
                         for m in self.modalities}
                common.update(frame_paths=paths, frame_path=paths[self.modalities[0]])
            if self.test_mode:
                # ``annotations`` (seconds, class names) is what DetectionMetric reads;
                # ``gt_segments`` / ``gt_labels`` (seconds, 0-based class ids) the data sample.
                annotations = [dict(segment=[float(a), float(b)], label=classes[int(c) - 1])
                               for (a, b), c in zip(anno['seconds'], anno['frames'][:, 2])]
                data_list.append(dict(common, gt_segments=anno['seconds'].astype(np.float32),
                                      gt_labels=anno['frames'][:, 2].astype(np.int64) - 1,
                                      annotations=annotations))
                continue
            if len(anno['frames']) == 0:
                continue  # training uses annotated videos only
            windows, th = split_training_windows(meta['sample_count'], anno['frames'],
                                                 self.clip_length, self.clip_stride)
            for offset, gts in windows:
                # Feature inputs can only start on a feature step: move the (off-grid
                # tail) window back and its GTs forward by the same amount.
                delta = offset % self.feature_stride
                if delta:
                    offset -= delta
                    gts = gts.copy()
                    gts[:, :2] = np.minimum(gts[:, :2] + delta, self.clip_length)
                data_list.append(dict(common, offset=offset, th=th,
                                      window_gts=gts.astype(np.float32)))
        return data_list
