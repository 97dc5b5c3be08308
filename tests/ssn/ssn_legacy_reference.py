"""FROZEN copy of the SSN data code before the task-module redesign (do not edit).

Copied from ``mmloc/datasets/ssn_dataset.py``, ``mmloc/datasets/transforms/ssn_formatting.py``
(``PackSSNInputs``), ``mmloc/datasets/transforms/ssn_sampling.py`` (``SampleProposalFrames``)
and ``mmloc/models/localizers/ssn.py`` (``SSN.predict``) at commit e7182da. The bit-identity
tests (``tests/ssn/test_ssn_legacy_parity.py``) run these next to the current code on seeded
inputs. Datasets are renamed ``Legacy*`` and are not registered.
"""

from __future__ import annotations

import json
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmloc.structures.segment_ops import pairwise_temporal_iou

#: THUMOS14's 20 detection classes in the order of the official ``detclasslist.txt``
#: (label 1..20; 0 is background).
THUMOS14_CLASSES = (
    'BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving',
    'CricketBowling', 'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow',
    'HighJump', 'JavelinThrow', 'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty',
    'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking')

FOREGROUND, INCOMPLETE, BACKGROUND = 0, 1, 2

DEFAULT_ASSIGNER = dict(positive_iou_threshold=0.7, background_iou_threshold=0.01,
                        incomplete_iou_threshold=0.3, background_coverage_threshold=0.02,
                        incomplete_overlap_threshold=0.01)
DEFAULT_SAMPLER = dict(num_per_video=8, positive_ratio=1, background_ratio=1,
                       incomplete_ratio=6, add_gt_as_proposals=True)


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


def make_instances(segments: np.ndarray, num_frames: int):
    """Apply the 0.x load rule: keep ``end > start`` and ``start < num_frames``.

    Args:
        segments: (N, 2) frame boundaries ``[start, end)`` (may exceed ``num_frames``).

    Returns:
        keep (N,) bool, clipped (K, 2) int64 boundaries with ``end <= num_frames``,
        coverage (K,) float64 ``(end - start) / num_frames`` of the *unclipped* end.
    """
    seg = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    keep = (seg[:, 1] > seg[:, 0]) & (seg[:, 0] < num_frames)
    kept = seg[keep]
    coverage = (kept[:, 1] - kept[:, 0]) / float(num_frames)
    clipped = np.stack([kept[:, 0], np.minimum(kept[:, 1], num_frames)], 1).astype(np.int64)
    return keep, clipped, coverage


# --------------------------------------------------------------------------- assignment
def assign_proposal_types(best_iou: np.ndarray, overlap_self: np.ndarray,
                          coverage: np.ndarray, positive_iou_threshold: float = 0.7,
                          background_iou_threshold: float = 0.01,
                          incomplete_iou_threshold: float = 0.3,
                          background_coverage_threshold: float = 0.02,
                          incomplete_overlap_threshold: float = 0.01) -> np.ndarray:
    """Proposal type per proposal (spec §5.2): 0 positive, 1 incomplete, 2 background, -1 none.

    Background is tested only when a proposal is not incomplete (0.x ``elif``).
    All inputs are (P,) arrays; returns (P,) int64.
    """
    best_iou = np.asarray(best_iou, np.float64)
    overlap_self = np.asarray(overlap_self, np.float64)
    coverage = np.asarray(coverage, np.float64)
    types = np.full(best_iou.shape, -1, np.int64)
    pos = best_iou > positive_iou_threshold
    inc = (best_iou < incomplete_iou_threshold) & (overlap_self > incomplete_overlap_threshold)
    bg = (best_iou < background_iou_threshold) & (coverage > background_coverage_threshold)
    types[bg & ~inc] = BACKGROUND
    types[inc] = INCOMPLETE
    types[pos] = FOREGROUND
    return types


def regression_targets(proposals: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """Raw (un-normalised) SSN regression targets against the best-IoU GT.

    Args:
        proposals: (P, 2) frame boundaries ``[start, end)``.
        gts: (G, 2) frame boundaries, G >= 1.

    Returns:
        (P, 2) float64 ``[loc, size]``: ``loc = (c_gt - c_p) / size_p`` with centres
        ``(start + end - 1) / 2``, ``size = log(size_gt / size_p)``.
    """
    proposals = np.asarray(proposals, np.float64).reshape(-1, 2)
    gts = np.asarray(gts, np.float64).reshape(-1, 2)
    if len(proposals) == 0:
        return np.zeros((0, 2))
    best = pairwise_temporal_iou(proposals, gts).argmax(1)  # first max, as 0.x
    ref = gts[best]
    c_p = (proposals[:, 0] + proposals[:, 1] - 1) / 2
    c_g = (ref[:, 0] + ref[:, 1] - 1) / 2
    s_p = proposals[:, 1] - proposals[:, 0]
    s_g = ref[:, 1] - ref[:, 0]
    return np.stack([(c_g - c_p) / s_p, np.log(s_g / s_p)], 1)


def build_video_info(video_id: str, num_frames: int, gt_rows: np.ndarray,
                     proposal_rows: np.ndarray, assigner: Optional[dict] = None,
                     add_gt_as_proposals: bool = True, **extra) -> dict:
    """Turn one video's GT / proposal rows (frames) into the dataset's per-video dict.

    Args:
        gt_rows: (G, 3) ``[label, start, end]`` frames. proposal_rows: (P, 5)
            ``[label, best_iou, overlap_self, start, end]`` frames.

    Returns a dict with ``gt_segments`` (G', 2) int64, ``gt_labels`` (G',) int64
    (1-based), ``proposal_segments`` (P', 2), ``proposal_labels``, ``best_iou``,
    ``overlap_self``, ``proposal_type`` (P',) and the per-video training pool:
    ``pool_segments``/``pool_labels``/``pool_type``/``pool_reg_targets``/``pool_is_gt``
    (GTs first when ``add_gt_as_proposals``).
    """
    assigner = dict(DEFAULT_ASSIGNER, **(assigner or {}))
    gt_rows = np.asarray(gt_rows, np.float64).reshape(-1, 3)
    proposal_rows = np.asarray(proposal_rows, np.float64).reshape(-1, 5)
    keep, gt_seg, _ = make_instances(gt_rows[:, 1:3], num_frames)
    gt_labels = gt_rows[keep, 0].astype(np.int64)
    keep, prop_seg, coverage = make_instances(proposal_rows[:, 3:5], num_frames)
    prop = proposal_rows[keep]
    types = assign_proposal_types(prop[:, 1], prop[:, 2], coverage, **assigner)

    gt_types = np.zeros(len(gt_seg), np.int64) if add_gt_as_proposals else np.zeros(0, np.int64)
    pool_seg = [gt_seg if add_gt_as_proposals else gt_seg[:0], prop_seg]
    pool_seg = np.concatenate(pool_seg).astype(np.int64)
    pool_labels = np.concatenate([gt_labels[:len(gt_types)], prop[:, 0].astype(np.int64)])
    pool_type = np.concatenate([gt_types, types])
    pool_is_gt = np.concatenate([np.ones(len(gt_types), bool), np.zeros(len(types), bool)])
    reg = np.zeros((len(pool_seg), 2))
    pos = pool_type == FOREGROUND
    if pos.any() and len(gt_seg):
        reg[pos] = regression_targets(pool_seg[pos], gt_seg)
    return dict(video_id=video_id, num_frames=int(num_frames), gt_segments=gt_seg,
                gt_labels=gt_labels, proposal_segments=prop_seg,
                proposal_labels=prop[:, 0].astype(np.int64), best_iou=prop[:, 1],
                overlap_self=prop[:, 2], proposal_type=types, pool_segments=pool_seg,
                pool_labels=pool_labels, pool_type=pool_type, pool_reg_targets=reg,
                pool_is_gt=pool_is_gt, **extra)


def regression_constants(video_infos: Sequence[dict]) -> np.ndarray:
    """``[[mean_loc, mean_size], [std_loc, std_size]]`` over positive non-GT proposals.

    Population std (numpy default), as MMAction2 0.x (spec §5.2). Raises when there
    is no positive proposal.
    """
    targets = [v['pool_reg_targets'][(v['pool_type'] == FOREGROUND) & ~v['pool_is_gt']]
               for v in video_infos]
    targets = np.concatenate(targets) if targets else np.zeros((0, 2))
    if len(targets) == 0:
        raise ValueError('no positive proposal (best_iou > positive threshold) in the dataset: '
                         'cannot compute regression normalisation constants')
    return np.stack([targets.mean(0), targets.std(0)])


# --------------------------------------------------------------------------- sampling
def sampling_counts(num_per_video: int = 8, positive_ratio: float = 1,
                    background_ratio: float = 1, incomplete_ratio: float = 6) -> tuple:
    """(num_positive, num_incomplete, num_background) per video (spec §5.2)."""
    denom = positive_ratio + background_ratio + incomplete_ratio
    n_pos = int(num_per_video * positive_ratio / denom)
    n_bg = int(num_per_video * background_ratio / denom)
    return n_pos, num_per_video - n_pos - n_bg, n_bg


def sample_video_proposals(pool_type: np.ndarray, counts: tuple, rng,
                           global_pools: Optional[Sequence[np.ndarray]] = None) -> list:
    """Choose proposals for one video: positives, then incompletes, then backgrounds.

    Args:
        pool_type: (N,) proposal type of the video's pool (0/1/2/-1).
        counts: (n_pos, n_inc, n_bg).
        rng: ``np.random.Generator`` or the ``np.random`` module (anything with ``choice``).
        global_pools: per type, (M, 2) int array of ``(video_idx, pool_idx)`` over the
            dataset; used (without replacement) when the video has none of a type.

    Returns a list of ``(video_idx or None, pool_idx, type)``; ``None`` = this video.
    Draws with replacement only when the video's pool is smaller than the request.
    """
    out = []
    for ptype, n in zip((FOREGROUND, INCOMPLETE, BACKGROUND), counts):
        if n <= 0:
            continue
        idx = np.flatnonzero(pool_type == ptype)
        if len(idx):
            chosen = rng.choice(idx, n, replace=len(idx) < n)
            out.extend((None, int(i), ptype) for i in chosen)
        else:
            pool = None if global_pools is None else global_pools[ptype]
            if pool is None or len(pool) == 0:
                raise ValueError(f'no proposal of type {ptype} in the whole dataset to sample')
            rows = pool[rng.choice(len(pool), n, replace=len(pool) < n)]
            out.extend((int(v), int(i), ptype) for v, i in rows)
    return out


def sliding_window_proposals(num_frames: int, gts: np.ndarray, gt_labels: np.ndarray,
                             window_frames: Sequence[int], stride_ratio: float = 0.25):
    """Multi-scale sliding-window proposals with their TAG-style statistics.

    Args:
        num_frames: video length in frames. gts: (G, 2) frames. gt_labels: (G,) 1-based.
        window_frames: window lengths in frames; the stride is ``stride_ratio * length``.

    Returns:
        (P, 5) float64 rows ``[label, best_iou, overlap_self, start, end]`` (frames),
        with the label of the best-IoU GT (0 when there is no GT).
    """
    segs = []
    for w in window_frames:
        w = int(w)
        if w <= 0 or w > num_frames:
            continue
        step = max(1, int(round(w * stride_ratio)))
        starts = np.arange(0, num_frames - w + 1, step)
        segs.append(np.stack([starts, starts + w], 1))
    if not segs:
        segs = [np.array([[0, num_frames]])]
    segs = np.unique(np.concatenate(segs).astype(np.float64), axis=0)
    gts = np.asarray(gts, np.float64).reshape(-1, 2)
    if len(gts):
        iou = pairwise_temporal_iou(segs, gts)
        inter = np.clip(np.minimum(segs[:, None, 1], gts[None, :, 1]) -
                        np.maximum(segs[:, None, 0], gts[None, :, 0]), 0, None)
        overlap = inter / (segs[:, 1:2] - segs[:, 0:1])
        labels = np.asarray(gt_labels)[iou.argmax(1)]
        return np.column_stack([labels, iou.max(1), overlap.max(1), segs])
    return np.column_stack([np.zeros(len(segs)), np.zeros(len(segs)), np.zeros(len(segs)),
                            segs])


# --------------------------------------------------------------------------- datasets
class _SSNBase(BaseDataset):
    """Shared machinery: filtering, regression constants, train sampling, test proposals."""

    def __init__(self, ann_file: str, pipeline: Sequence = (), data_prefix: Optional[dict] = None,
                 test_mode: bool = False, filter_gt: bool = True,
                 assigner: Optional[dict] = None, sampler: Optional[dict] = None,
                 video_centric: bool = True, reg_normalize_constants=None,
                 aug_ratio=(0.5, 0.5), seed: Optional[int] = None, **kwargs):
        self.assigner = dict(DEFAULT_ASSIGNER, **(assigner or {}))
        self.sampler = dict(DEFAULT_SAMPLER, **(sampler or {}))
        self.filter_gt = filter_gt
        self.video_centric = video_centric
        self.aug_ratio = tuple(aug_ratio)
        self._given_reg_constants = reg_normalize_constants
        self._init_kwargs = dict(kwargs, data_prefix=data_prefix, filter_gt=filter_gt,
                                 assigner=assigner, sampler=sampler, aug_ratio=aug_ratio)
        # None: the global numpy RNG (mmengine seeds it per dataloader worker).
        self._rng = np.random if seed is None else np.random.default_rng(seed)
        super().__init__(ann_file=ann_file, pipeline=list(pipeline),
                         data_prefix=data_prefix or dict(video=''), test_mode=test_mode,
                         serialize_data=False, **kwargs)

    # subclasses return per-video dicts from build_video_info
    def load_video_infos(self) -> List[dict]:
        raise NotImplementedError

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
            consts = regression_constants(infos)
        self.reg_norm_consts = consts
        print_log(f'{self.ann_file}: SSN regression constants [[mean_loc, mean_size], '
                  f'[std_loc, std_size]] = {consts.round(6).tolist()}', logger='current')
        std = np.where(consts[1] > 0, consts[1], 1.0)
        for v in infos:
            v['reg_norm_consts'] = consts
            pos = v['pool_type'] == FOREGROUND
            v['pool_reg_targets'] = np.where(pos[:, None], (v['pool_reg_targets'] - consts[0]) /
                                             std, 0.0)
        pools = []
        for ptype in (FOREGROUND, INCOMPLETE, BACKGROUND):
            rows = [np.stack([np.full(int((v['pool_type'] == ptype).sum()), i),
                              np.flatnonzero(v['pool_type'] == ptype)], 1)
                    for i, v in enumerate(infos)]
            pools.append(np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2),
                                                                                       np.int64))
        self._global_pools = pools
        return infos

    def _sample_train(self, info: dict) -> dict:
        counts = sampling_counts(self.sampler['num_per_video'], self.sampler['positive_ratio'],
                                 self.sampler['background_ratio'],
                                 self.sampler['incomplete_ratio'])
        if self.video_centric:
            picks = sample_video_proposals(info['pool_type'], counts, self._rng,
                                           self._global_pools)
        else:
            picks = sample_video_proposals(np.zeros(0, np.int64), counts, self._rng,
                                           self._global_pools)
        segs, labels, types, regs = [], [], [], []
        for vid, i, ptype in picks:
            src = info if vid is None else self.data_list[vid]
            segs.append(src['pool_segments'][i])
            labels.append(0 if ptype == BACKGROUND else int(src['pool_labels'][i]))
            types.append(ptype)
            regs.append(src['pool_reg_targets'][i] if ptype == FOREGROUND else np.zeros(2))
        return dict(proposal_segments=np.asarray(segs, np.int64).reshape(-1, 2),
                    proposal_labels=np.asarray(labels, np.int64),
                    proposal_type=np.asarray(types, np.int64),
                    reg_targets=np.asarray(regs, np.float32).reshape(-1, 2))

    def prepare_data(self, idx: int):
        info = self.get_data_info(idx)
        results = dict(video_id=info['video_id'], total_frames=info['num_frames'],
                       fps=info['fps'], duration_second=info['duration_second'],
                       frame_dir=info.get('frame_dir'), feature_path=info.get('feature_path'),
                       gt_segments=info['gt_segments'], gt_labels=info['gt_labels'],
                       reg_norm_consts=info['reg_norm_consts'].astype(np.float32),
                       aug_ratio=self.aug_ratio, start_index=1)
        if self.test_mode:
            segs = info['proposal_segments']
            if len(segs) == 0:  # 0.x: one whole-video proposal, SSNInstance(0, n - 1)
                segs = np.array([[0, max(1, info['num_frames'] - 1)]], np.int64)
            results.update(proposal_segments=segs, proposal_labels=np.zeros(len(segs), np.int64),
                           proposal_type=np.full(len(segs), -1, np.int64))
        else:
            results.update(self._sample_train(info))
        return self.pipeline(results)


class LegacySSNDataset(_SSNBase):
    """THUMOS14 raw frames + TAG proposal list (MMAction2 0.x layout, spec §1.7, §5.2).

    Args:
        ann_file: denormalised proposal list (``*_tag_{val,test}_proposal_list.txt``).
        data_prefix: ``dict(video=RAWFRAME_DIR)``; frames are ``RAWFRAME_DIR/<video_id>/``.
        fps: frames per second used to express outputs in seconds (the denormalised
            list writes fps 1; THUMOS14 rawframes are 30 fps).
        assigner / sampler: thresholds and per-video counts (defaults of spec §5.2).
        reg_normalize_constants: ``[[mean_loc, mean_size], [std_loc, std_size]]``; a dict
            of dataset arguments (e.g. ``dict(ann_file=TRAIN_LIST)``) computes them from that
            training set; None computes them from this file (0.x behaviour, spec §8 #21).
        filter_gt: drop videos without GT (forced when training).
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
            infos.append(build_video_info(
                v['video_id'], v['num_frames'], v['gts'], v['proposals'], self.assigner,
                self.sampler['add_gt_as_proposals'], fps=self.fps,
                duration_second=v['num_frames'] / self.fps,
                frame_dir=osp.join(frame_root, v['video_id'])))
        return infos


class LegacySSNFeatureDataset(_SSNBase):
    """SSN over pre-extracted snippet features + annotation JSON (seconds).

    Args:
        ann_file: JSON ``{video_id: {duration_second, fps, [duration_frame], [subset],
            annotations: [{segment: [start_s, end_s], label|class: name}]}}``.
        data_prefix: ``dict(video=FEATURE_DIR)``; features are ``FEATURE_DIR/<video_id>.npy``
            (C, T) float.
        class_names: label names in label order (label = index + 1).
        subset: keep only records whose ``subset`` equals it (None keeps all).
        proposal_file: optional TAG list in frames; else sliding windows of
            ``window_frames`` (frames) with stride ``window_stride`` × length.
        ignore_labels: GT labels skipped (THUMOS14's ``Ambiguous``).
    """

    def __init__(self, ann_file: str, class_names: Sequence[str] = THUMOS14_CLASSES,
                 subset: Optional[str] = None, proposal_file: Optional[str] = None,
                 window_frames: Sequence[int] = (16, 32, 64, 128, 256, 512),
                 window_stride: float = 0.25, feature_ext: str = '.npy',
                 ignore_labels: Sequence[str] = ('Ambiguous', ), **kwargs):
        self.class_names = tuple(class_names)
        self.ignore_labels = tuple(ignore_labels)
        self.subset = subset
        self.proposal_file = proposal_file
        self.window_frames = tuple(window_frames)
        self.window_stride = float(window_stride)
        self.feature_ext = feature_ext
        self._own_kwargs = dict(class_names=class_names, subset=subset,
                                proposal_file=proposal_file, window_frames=window_frames,
                                window_stride=window_stride, feature_ext=feature_ext,
                                ignore_labels=ignore_labels)
        super().__init__(ann_file=ann_file, **kwargs)

    def _label(self, vid: str, i: int, ann: dict) -> int:
        name = ann.get('class', ann.get('label'))
        if name not in self.class_names:
            raise ValueError(f'{self.ann_file}: video {vid}: annotations[{i}] label {name!r} is '
                             f'not one of the {len(self.class_names)} class_names')
        return self.class_names.index(name) + 1

    def load_video_infos(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{self.ann_file}: annotation file not found')
        with open(self.ann_file, encoding='utf-8') as f:
            data = json.load(f)
        if 'database' in data:
            data = data['database']
        listed: Dict[str, dict] = {}
        if self.proposal_file is not None:
            listed = {v['video_id']: v for v in parse_proposal_list(self.proposal_file)}
        root = self.data_prefix.get('video', '')
        infos = []
        for vid, rec in data.items():
            if self.subset is not None and rec.get('subset') != self.subset:
                continue
            for key in ('duration_second', 'fps', 'annotations'):
                if key not in rec:
                    raise KeyError(f'{self.ann_file}: video {vid}: missing field "{key}"')
            fps = float(rec['fps'])
            num_frames = int(rec.get('duration_frame', round(float(rec['duration_second']) * fps)))
            gt_rows = []
            for i, ann in enumerate(rec['annotations']):
                if ann.get('class', ann.get('label')) in self.ignore_labels:
                    continue
                s, e = (float(x) for x in ann['segment'])
                gt_rows.append([self._label(vid, i, ann), round(s * fps), round(e * fps)])
            gt_rows = np.asarray(gt_rows, np.float64).reshape(-1, 3)
            if vid in listed:
                prop_rows = listed[vid]['proposals']
            else:
                keep, gseg, _ = make_instances(gt_rows[:, 1:3], num_frames)
                prop_rows = sliding_window_proposals(num_frames, gseg, gt_rows[keep, 0],
                                                     self.window_frames, self.window_stride)
            infos.append(build_video_info(
                vid, num_frames, gt_rows, prop_rows, self.assigner,
                self.sampler['add_gt_as_proposals'], fps=fps,
                duration_second=float(rec['duration_second']),
                feature_path=osp.join(root, vid + self.feature_ext)))
        return infos


# --------------------------------------------------------------------------- transforms
# (frozen from mmloc/datasets/transforms/ssn_sampling.py and ssn_formatting.py; the pure
# helpers they call are imported: they are not part of the redesign)
import torch  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from mmloc.datasets.transforms.ssn_sampling import (proposal_test_ticks,  # noqa: E402
                                                    sample_proposal_frames, sample_test_frames)
from mmloc.structures import LocalizationDataSample  # noqa: E402


class LegacySampleProposalFrames:
    """``SampleProposalFrames`` as it was (test ticks int32, ``segs / float(n)``)."""

    def __init__(self, body_segments=5, aug_segments=(2, 2), aug_ratio=(0.5, 0.5), clip_len=1,
                 frame_interval=1, test_interval=6, mode='train', seed=None):
        self.body_segments = body_segments
        self.aug_segments = tuple(aug_segments)
        self.aug_ratio = tuple(aug_ratio)
        self.clip_len = clip_len
        self.frame_interval = frame_interval
        self.test_interval = test_interval
        self.mode = mode
        self.rng = None if seed is None else np.random.default_rng(seed)

    def __call__(self, results: dict) -> dict:
        n = int(results['total_frames'])
        start_index = int(results.get('start_index', 1))
        segs = np.asarray(results['proposal_segments'], np.int64).reshape(-1, 2)
        if self.mode == 'test':
            inds = sample_test_frames(n, self.test_interval, self.clip_len * self.frame_interval,
                                      start_index)
            rel = segs / float(n)
            ticks, sf = proposal_test_ticks(rel, len(inds), self.aug_ratio)
            results.update(frame_inds=inds, relative_proposals=rel.astype(np.float32),
                           proposal_ticks=ticks, proposal_scale_factor=sf)
        else:
            inds, sf = sample_proposal_frames(
                segs, n, self.mode, self.body_segments, self.aug_segments, self.aug_ratio,
                self.clip_len, self.frame_interval, start_index, self.rng)
            results.update(frame_inds=inds, proposal_scale_factor=sf)
        results['clip_len'] = self.clip_len
        return results


def legacy_pack_ssn(results: dict) -> dict:
    """``PackSSNInputs.__call__`` as it was."""
    inputs = torch.from_numpy(np.ascontiguousarray(results['inputs']))
    sample = LocalizationDataSample()
    props = InstanceData()
    sf = torch.from_numpy(np.asarray(results['proposal_scale_factor'], np.float32))
    if 'proposal_ticks' in results:
        props.segments = torch.from_numpy(np.asarray(results['relative_proposals'], np.float32))
        props.ticks = torch.from_numpy(np.asarray(results['proposal_ticks'], np.int64))
        props.scale_factors = sf
    else:
        props.labels = torch.from_numpy(np.asarray(results['proposal_labels'], np.int64))
        props.types = torch.from_numpy(np.asarray(results['proposal_type'], np.int64))
        props.reg_targets = torch.from_numpy(np.asarray(results['reg_targets'], np.float32))
        props.scale_factors = sf
    sample.proposals = props
    n = float(results['total_frames'])
    duration_s = float(results['duration_second'])
    gt = np.asarray(results['gt_segments'], np.float64).reshape(-1, 2)
    labels = np.asarray(results['gt_labels'], np.int64) - 1
    annotations = [dict(segment=[float(s), float(e)], label=int(c))
                   for (s, e), c in zip(gt / n * duration_s, labels)]
    sample.set_metainfo(dict(
        video_id=results['video_id'], video_name=results['video_id'],
        total_frames=int(results['total_frames']), fps=float(results['fps']),
        duration_second=duration_s,
        reg_norm_consts=np.asarray(results['reg_norm_consts'], np.float32),
        annotations=annotations))
    return dict(inputs=inputs, data_samples=sample)


# --------------------------------------------------------------------------- model
@torch.no_grad()
def legacy_ssn_predict(model, inputs, data_samples) -> list:
    """``SSN.predict`` (with ``SSN.predict_video``) as it was, on the parts of ``model``.

    Returns per sample ``(segments (D, 2) float32 tensor in seconds, scores, labels)``.
    """
    from mmloc.models.ssn.postprocess import ssn_detections
    out = []
    for frames, sample in zip(inputs, data_samples):
        props = sample.proposals
        bs = int(model.test_cfg['batch_size'])
        feats = torch.cat([model.extract_feat(frames[i:i + bs])
                           for i in range(0, len(frames), bs)])
        scores = model.cls_head.frame_scores(feats)
        act, comp, bbox = model.cls_head.forward_test(scores, props.ticks.to(scores.device),
                                                      props.scale_factors.to(scores))
        if bbox is not None:
            c = torch.as_tensor(np.asarray(sample.metainfo['reg_norm_consts']),
                                dtype=bbox.dtype, device=bbox.device)
            bbox = (bbox * c[1] + c[0]).cpu().numpy()
        seg, score, label = ssn_detections(
            props.segments.cpu().numpy(), act.cpu().numpy(), comp.cpu().numpy(), bbox,
            model.test_cfg['top_k'], model.test_cfg['nms'], model.test_cfg['use_regression'])
        out.append((torch.from_numpy(seg * sample.metainfo['duration_second']).float(),
                    torch.from_numpy(score).float(), torch.from_numpy(label)))
    return out
