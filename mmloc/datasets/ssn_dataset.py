"""SSN datasets over THUMOS14-style data (spec §1.7, §5.2): parsing and validation.

Two layouts:

* ``SSNDataset``: raw frames + a TAG proposal list in the MMAction2 0.x format
  (video id, frame count, fps, GT rows, proposal rows with best IoU / overlap).
* ``SSNFeatureDataset``: per-video snippet features + an annotation JSON in seconds,
  with proposals from a proposal list or generated as sliding windows.

Both read, per video, integer **frame** boundaries ``[start, end)`` (0-based, end
excluded) and hand them to the model's task modules (``mmloc.models.task_modules``, built
from the ``assigner`` / ``sampler`` / ``proposal_generator`` configs through ``TASK_UTILS``):
``SSNProposalAssigner`` (positive / incomplete / background, regression targets) when the
dataset is built, ``SSNProposalSampler`` when a training item is loaded. The frame sampler
(``SampleProposalFrames``) and the feature gatherer then work in frames.

Units: ``*_frame``/``segments`` here are frame indices; ``relative`` is a fraction of the
video length; seconds <-> frames go through the video's ``TimeGrid`` (``from_fps`` for the
annotation seconds, ``from_frames`` for the metric's GT ``annotations``).
"""
from __future__ import annotations

import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmloc.registry import DATASETS, TASK_UTILS
from mmloc.structures import Segments, TimeGrid

#: THUMOS14's 20 detection classes in the order of the official ``detclasslist.txt``
#: (label 1..20; 0 is background).
THUMOS14_CLASSES = (
    'BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving',
    'CricketBowling', 'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow',
    'HighJump', 'JavelinThrow', 'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty',
    'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking')



# --------------------------------------------------------------------------- parsing
def parse_proposal_list(path: str) -> List[dict]:
    """Parse a TAG proposal list (spec §1.7).

    Returns one dict per block, in file order: ``video_id`` (str), ``num_frames``
    (``int(float(frames) * float(fps))``), ``fps`` (float, as written),
    ``gts`` (G, 3) float64 rows ``[label, start, end]`` and ``proposals`` (P, 5)
    float64 rows ``[label, best_iou, overlap_self, start, end]`` (unfiltered, in the
    file's boundary unit: frames, or fractions in a ``*_normalized_*`` file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: proposal list not found')
    with open(path, encoding='utf-8') as f:
        lines = [ln.strip() for ln in f]
    # Blocks: consecutive non-'#' lines between '#' lines (blank lines ignored).
    blocks, current = [], None
    for ln in lines:
        if not ln:
            continue
        if ln.startswith('#'):
            current = []
            blocks.append(current)
        elif current is None:
            raise ValueError(f'{path}: expected a "# <idx>" line before {ln!r}')
        else:
            current.append(ln)
    videos = []
    for b, block in enumerate(blocks):
        where = f'{path}: block {b}'
        try:
            video_id = block[0]
            where = f'{path}: video {video_id}'
            num_frames = int(float(block[1]) * float(block[2]))
            fps = float(block[2])
            num_gts = int(block[3])
            gt_rows = [block[4 + i].split() for i in range(num_gts)]
            k = 4 + num_gts
            num_props = int(block[k])
            prop_rows = [block[k + 1 + i].split() for i in range(num_props)]
            if len(block) != k + 1 + num_props:
                raise ValueError(f'{len(block)} lines, expected {k + 1 + num_props}')
        except (IndexError, ValueError) as e:
            raise ValueError(f'{where}: malformed proposal-list block ({e})') from None
        if any(len(r) != 3 for r in gt_rows):
            raise ValueError(f'{where}: GT rows must be "label start end"')
        if any(len(r) != 5 for r in prop_rows):
            raise ValueError(f'{where}: proposal rows must be "label iou overlap start end"')
        try:
            gts = np.array(gt_rows, dtype=np.float64).reshape(-1, 3)
            props = np.array(prop_rows, dtype=np.float64).reshape(-1, 5)
        except ValueError as e:
            raise ValueError(f'{where}: non-numeric GT / proposal field ({e})') from None
        videos.append(dict(video_id=video_id, num_frames=num_frames, fps=fps, gts=gts,
                           proposals=props))
    return videos


# --------------------------------------------------------------------------- datasets
def _task_cfg(cfg, default_type: str):
    """A task-module config: ``None`` -> the default; a dict without ``type`` (the 0.x plain
    form) -> the default type with those arguments; a built object is kept."""
    if cfg is None:
        return dict(type=default_type)
    if isinstance(cfg, dict):
        return dict(cfg) if 'type' in cfg else dict(cfg, type=default_type)
    return cfg


def _build_task(cfg):
    return TASK_UTILS.build(cfg) if isinstance(cfg, dict) else cfg


def gt_annotations(gt_segments: np.ndarray, gt_labels: np.ndarray, grid: TimeGrid) -> list:
    """``DetectionMetric`` ground truth of a video: ``[{'segment': [start_s, end_s],
    'label': class_id}]`` with 0-based class ids. Frame boundaries go through the video's
    frame grid (``TimeGrid.from_frames``: ``frame / num_frames * duration``, as 0.x)."""
    seconds = Segments(np.asarray(gt_segments).reshape(-1, 2), 'index').to(
        'normalised', grid).to('second', grid).numpy()
    labels = np.asarray(gt_labels, np.int64) - 1
    return [dict(segment=[float(s), float(e)], label=int(c))
            for (s, e), c in zip(seconds, labels)]


class _SSNBase(BaseDataset):
    """Shared machinery: filtering, regression constants, calling the task modules.

    Model logic lives in ``mmloc.models.task_modules`` (built from ``assigner`` /
    ``sampler`` config dicts through ``TASK_UTILS``): the assigner labels each video's
    proposals once, when the dataset is built; the sampler draws a training item's proposals
    when it is loaded (the sampled proposals decide which frames the pipeline reads). The
    dataset keeps the dataset-level state that sampling needs: the regression normalisation
    constants (over all videos) and the dataset-wide pools of each proposal type.
    """

    def __init__(self, ann_file: str, pipeline: Sequence = (), data_prefix: Optional[dict] = None,
                 test_mode: bool = False, filter_gt: bool = True,
                 assigner: Optional[dict] = None, sampler: Optional[dict] = None,
                 video_centric: Optional[bool] = None, reg_normalize_constants=None,
                 aug_ratio=(0.5, 0.5), seed: Optional[int] = None, **kwargs):
        self.assigner = _build_task(_task_cfg(assigner, 'SSNProposalAssigner'))
        sampler_cfg = _task_cfg(sampler, 'SSNProposalSampler')
        if video_centric is not None and isinstance(sampler_cfg, dict):
            sampler_cfg['video_centric'] = video_centric
        self.sampler = _build_task(sampler_cfg)
        self.filter_gt = filter_gt
        self.video_centric = self.sampler.video_centric
        self.aug_ratio = tuple(aug_ratio)
        self._given_reg_constants = reg_normalize_constants
        self._init_kwargs = dict(kwargs, data_prefix=data_prefix, filter_gt=filter_gt,
                                 assigner=assigner, sampler=sampler, video_centric=video_centric,
                                 aug_ratio=aug_ratio)
        # None: the global numpy RNG (mmengine seeds it per dataloader worker).
        self._rng = np.random if seed is None else np.random.default_rng(seed)
        super().__init__(ann_file=ann_file, pipeline=list(pipeline),
                         data_prefix=data_prefix or dict(video=''), test_mode=test_mode,
                         serialize_data=False, **kwargs)

    # subclasses parse their files and return per-video dicts from _assign
    def load_video_infos(self) -> List[dict]:
        raise NotImplementedError

    def _assign(self, video_id: str, num_frames: int, gt_rows: np.ndarray,
                proposal_rows: np.ndarray, **extra) -> dict:
        info = self.assigner.assign(num_frames, gt_rows, proposal_rows,
                                    self.sampler.add_gt_as_proposals)
        return dict(video_id=video_id, **info, **extra)

    def load_data_list(self) -> List[dict]:
        infos = self.load_video_infos()
        # 0.x drops GT-less videos whenever filter_gt or training; the test-mode
        # filter_gt=False crash of 0.x (spec §8 #20) is fixed: all videos are kept.
        if self.filter_gt or not self.test_mode:
            infos = [v for v in infos if len(v['gt_segments'])]
        if not infos:
            raise ValueError(f'{self.ann_file}: no video left (videos without GT are dropped)')
        given = self._given_reg_constants
        if isinstance(given, dict):
            # e.g. dict(ann_file=TRAIN_FILE[, subset=...]): the training set's constants,
            # avoiding 0.x's test-file constants (spec §8 #21).
            args = dict(getattr(self, '_own_kwargs', {}), **self._init_kwargs)
            args.update(given, pipeline=[], test_mode=False, reg_normalize_constants=None)
            consts = type(self)(**args).reg_norm_consts
        elif given is not None:
            consts = np.asarray(given, np.float64).reshape(2, 2)
        else:
            # Parity with 0.x: constants from this dataset's own positives (spec §8 #21:
            # at test time pass the training constants instead).
            consts = self.assigner.regression_constants(infos)
        self.reg_norm_consts = consts
        print_log(f'{self.ann_file}: SSN regression constants [[mean_loc, mean_size], '
                  f'[std_loc, std_size]] = {consts.round(6).tolist()}', logger='current')
        for v in infos:
            v['reg_norm_consts'] = consts
            v['pool_reg_targets'] = self.assigner.normalise(v, consts)
        self._global_pools = self.sampler.global_pools(infos)
        return infos

    def video_results(self, info: dict, test_mode: bool) -> dict:
        """The pipeline input of one video: its fields, GT (frames and seconds) and the test
        proposals (``test_mode``) or a fresh training sample of proposals."""
        grid = TimeGrid.from_frames(info['num_frames'], info['duration_second'], info['fps'])
        results = dict(video_id=info['video_id'], video_name=info['video_id'],
                       total_frames=info['num_frames'], fps=info['fps'],
                       duration_second=info['duration_second'], time_grid=grid,
                       frame_dir=info.get('frame_dir'), feature_path=info.get('feature_path'),
                       gt_segments=info['gt_segments'], gt_labels=info['gt_labels'],
                       annotations=gt_annotations(info['gt_segments'], info['gt_labels'], grid),
                       reg_norm_consts=info['reg_norm_consts'].astype(np.float32),
                       aug_ratio=self.aug_ratio, start_index=1)
        if test_mode:
            results.update(proposal_segments=self.sampler.test_proposals(info))
        else:
            results.update(self.sampler.sample(info, self.data_list, self._global_pools,
                                               self._rng))
        return results

    def prepare_data(self, idx: int):
        return self.pipeline(self.video_results(self.get_data_info(idx), self.test_mode))


@DATASETS.register_module()
class SSNDataset(_SSNBase):
    """THUMOS14 raw frames + TAG proposal list (MMAction2 0.x layout, spec §1.7, §5.2).

    Args:
        ann_file: denormalised proposal list (``*_tag_{val,test}_proposal_list.txt``).
        data_prefix: ``dict(video=RAWFRAME_DIR)``; frames are ``RAWFRAME_DIR/<video_id>/``.
        fps: frames per second used to express outputs in seconds (the denormalised
            list writes fps 1; THUMOS14 rawframes are 30 fps).
        assigner: ``dict(type='SSNProposalAssigner', ...)`` thresholds (spec §5.2 defaults;
            a dict without ``type`` works too).
        sampler: ``dict(type='SSNProposalSampler', num_per_video=8, ...)`` (idem).
        video_centric: overrides the sampler's ``video_centric`` when given.
        reg_normalize_constants: ``[[mean_loc, mean_size], [std_loc, std_size]]``; a dict
            of dataset arguments (e.g. ``dict(ann_file=TRAIN_LIST)``) computes them from that
            training set; None computes them from this file (0.x behaviour, spec §8 #21).
        filter_gt: drop videos without GT (forced when training).
        seed: seed of the proposal sampling (None: numpy's global RNG).
    """

    def __init__(self, ann_file: str, fps: float = 30.0, **kwargs):
        self.fps = float(fps)
        self._own_kwargs = dict(fps=fps)
        super().__init__(ann_file=ann_file, **kwargs)

    def load_video_infos(self) -> List[dict]:
        infos = []
        frame_root = self.data_prefix.get('video', '')
        for v in parse_proposal_list(self.ann_file):
            if v['num_frames'] <= 0:
                raise ValueError(f'{self.ann_file}: video {v["video_id"]}: frame count must be '
                                 f'> 0, got {v["num_frames"]}')
            if len(v['proposals']) and v['proposals'][:, 3:5].max() <= 1.0 and v['num_frames'] > 1:
                warnings.warn(f'{self.ann_file}: video {v["video_id"]}: proposal boundaries are '
                              'fractions; use the denormalised list (frames)')
            frames = TimeGrid.from_fps(self.fps, num_frames=v['num_frames'])
            infos.append(self._assign(
                v['video_id'], v['num_frames'], v['gts'], v['proposals'], fps=self.fps,
                duration_second=frames.frame_to_seconds(v['num_frames']),
                frame_dir=osp.join(frame_root, v['video_id'])))
        return infos


@DATASETS.register_module()
class SSNFeatureDataset(_SSNBase):
    """SSN over pre-extracted snippet features + annotation JSON (seconds).

    Args:
        ann_file: JSON ``{video_id: {duration_second, fps, [duration_frame], [subset],
            annotations: [{segment: [start_s, end_s], label|class: name}]}}``.
        data_prefix: ``dict(video=FEATURE_DIR)``; features are ``FEATURE_DIR/<video_id>.npy``
            (C, T) float.
        class_names: label names in label order (label = index + 1).
        subset: keep only records whose ``subset`` equals it (None keeps all).
        proposal_file: optional TAG list in frames; else the ``proposal_generator``.
        proposal_generator: ``dict(type='SSNSlidingWindowProposals', window_frames=...,
            stride_ratio=...)``; None builds it from ``window_frames`` (frames) and
            ``window_stride`` (share of the window length).
        ignore_labels: GT labels skipped (THUMOS14's ``Ambiguous``).
        assigner, sampler, video_centric, reg_normalize_constants, filter_gt, seed: as
            :class:`SSNDataset`.
    """

    def __init__(self, ann_file: str, class_names: Sequence[str] = THUMOS14_CLASSES,
                 subset: Optional[str] = None, proposal_file: Optional[str] = None,
                 window_frames: Sequence[int] = (16, 32, 64, 128, 256, 512),
                 window_stride: float = 0.25, proposal_generator: Optional[dict] = None,
                 feature_ext: str = '.npy', ignore_labels: Sequence[str] = ('Ambiguous', ),
                 **kwargs):
        self.class_names = tuple(class_names)
        self.ignore_labels = tuple(ignore_labels)
        self.subset = subset
        self.proposal_file = proposal_file
        if proposal_generator is None:
            proposal_generator = dict(type='SSNSlidingWindowProposals',
                                      window_frames=tuple(window_frames),
                                      stride_ratio=float(window_stride))
        self.proposal_generator = _build_task(proposal_generator)
        self.feature_ext = feature_ext
        self._own_kwargs = dict(class_names=class_names, subset=subset,
                                proposal_file=proposal_file, window_frames=window_frames,
                                window_stride=window_stride,
                                proposal_generator=proposal_generator, feature_ext=feature_ext,
                                ignore_labels=ignore_labels)
        super().__init__(ann_file=ann_file, **kwargs)

    def _label(self, vid: str, i: int, ann: dict) -> int:
        name = ann.get('class', ann.get('label'))
        if name not in self.class_names:
            raise ValueError(f'{self.ann_file}: video {vid}: annotations[{i}] label {name!r} is '
                             f'not one of the {len(self.class_names)} class_names')
        return self.class_names.index(name) + 1

    def video_proposals(self, video_id: str, num_frames: int, gt_rows: np.ndarray,
                        listed: Optional[Dict[str, dict]] = None) -> np.ndarray:
        """Proposal rows of a video: its rows of ``proposal_file`` when listed, else the
        ``proposal_generator``'s sliding windows."""
        if listed is None:
            listed = self._listed_proposals()
        if video_id in listed:
            return listed[video_id]['proposals']
        return self.proposal_generator(num_frames, gt_rows)

    def _listed_proposals(self) -> Dict[str, dict]:
        if self.proposal_file is None:
            return {}
        if getattr(self, '_listed', None) is None:
            self._listed = {v['video_id']: v for v in parse_proposal_list(self.proposal_file)}
        return self._listed

    def load_video_infos(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{self.ann_file}: annotation file not found')
        with open(self.ann_file, encoding='utf-8') as f:
            data = json.load(f)
        if 'database' in data:
            data = data['database']
        listed = self._listed_proposals()
        root = self.data_prefix.get('video', '')
        infos = []
        for vid, rec in data.items():
            if self.subset is not None and rec.get('subset') != self.subset:
                continue
            for key in ('duration_second', 'fps', 'annotations'):
                if key not in rec:
                    raise KeyError(f'{self.ann_file}: video {vid}: missing field "{key}"')
            try:  # frames of the video: duration_frame, else round(duration_second * fps)
                frames = TimeGrid.from_fps(rec['fps'], num_frames=rec.get('duration_frame'),
                                           duration_s=float(rec['duration_second']))
            except ValueError as e:
                raise ValueError(f'{self.ann_file}: video {vid}: {e}') from None
            num_frames = frames.num_steps
            gt_rows = []
            for i, ann in enumerate(rec['annotations']):
                if ann.get('class', ann.get('label')) in self.ignore_labels:
                    continue
                s, e = (float(x) for x in ann['segment'])
                gt_rows.append([self._label(vid, i, ann), round(frames.seconds_to_frame(s)),
                                round(frames.seconds_to_frame(e))])
            gt_rows = np.asarray(gt_rows, np.float64).reshape(-1, 3)
            prop_rows = self.video_proposals(vid, num_frames, gt_rows, listed)
            infos.append(self._assign(
                vid, num_frames, gt_rows, prop_rows, fps=frames.fps,
                duration_second=float(rec['duration_second']),
                feature_path=osp.join(root, vid + self.feature_ext)))
        return infos


#: names that moved to ``mmloc.models.task_modules`` (model logic), importable from here
#: for old code (a DeprecationWarning tells where they live now).
_MOVED = {name: 'mmloc.models.task_modules' for name in (
    'FOREGROUND', 'INCOMPLETE', 'BACKGROUND', 'make_instances', 'assign_proposal_types',
    'regression_targets', 'build_video_info', 'regression_constants', 'sampling_counts',
    'sample_video_proposals', 'sliding_window_proposals')}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib
        warnings.warn(f'mmloc.datasets.ssn_dataset.{name} moved to {_MOVED[name]}.{name}',
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
