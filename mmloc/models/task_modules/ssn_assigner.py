"""SSN proposal assignment (spec §5.2): instances, proposal types, regression targets and
their normalisation constants.

Units: segments are integer **frame** boundaries ``[start, end)`` (0-based, end excluded,
clipped to ``num_frames``). GT rows are ``[label, start, end]`` (label 1-based, 0 is
background); proposal rows ``[label, best_iou, overlap_self, start, end]`` (TAG list layout).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from mmloc.registry import TASK_UTILS
from mmloc.structures.segment_ops import pairwise_temporal_iou

#: proposal types (``-1``: none of them, never sampled)
FOREGROUND, INCOMPLETE, BACKGROUND = 0, 1, 2


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


def normalise_regression_targets(reg_targets: np.ndarray, types: np.ndarray,
                                 consts: np.ndarray) -> np.ndarray:
    """``(target - mean) / std`` on positives (a zero std counts as 1), 0 elsewhere.

    Args:
        reg_targets: (N, 2) raw targets. types: (N,) proposal types. consts: (2, 2).
    """
    consts = np.asarray(consts, np.float64)
    std = np.where(consts[1] > 0, consts[1], 1.0)
    pos = np.asarray(types) == FOREGROUND
    return np.where(pos[:, None], (reg_targets - consts[0]) / std, 0.0)


@TASK_UTILS.register_module()
class SSNProposalAssigner:
    """Assign SSN proposal types and regression targets of one video (spec §5.2).

    Config: ``assigner=dict(type='SSNProposalAssigner', positive_iou_threshold=0.7, ...)``
    in the SSN datasets; a dict without ``type`` (MMAction2 0.x's form) means this class.

    Args:
        positive_iou_threshold: ``best_iou >`` it: positive (type 0).
        background_iou_threshold / background_coverage_threshold: ``best_iou <`` the first
            and coverage ``>`` the second: background (type 2), unless incomplete.
        incomplete_iou_threshold / incomplete_overlap_threshold: ``best_iou <`` the first
            and ``overlap_self >`` the second: incomplete (type 1).
    """

    def __init__(self, positive_iou_threshold: float = 0.7,
                 background_iou_threshold: float = 0.01,
                 incomplete_iou_threshold: float = 0.3,
                 background_coverage_threshold: float = 0.02,
                 incomplete_overlap_threshold: float = 0.01):
        self.thresholds = dict(positive_iou_threshold=positive_iou_threshold,
                               background_iou_threshold=background_iou_threshold,
                               incomplete_iou_threshold=incomplete_iou_threshold,
                               background_coverage_threshold=background_coverage_threshold,
                               incomplete_overlap_threshold=incomplete_overlap_threshold)

    def assign(self, num_frames: int, gt_rows: np.ndarray, proposal_rows: np.ndarray,
               add_gt_as_proposals: bool = True) -> dict:
        """Instances, proposal types and the video's training pool.

        Args:
            num_frames: frames of the video.
            gt_rows: (G, 3) ``[label, start, end]`` frames. proposal_rows: (P, 5)
                ``[label, best_iou, overlap_self, start, end]`` frames.
            add_gt_as_proposals: put the GTs first in the pool, as positives.

        Returns a dict with ``num_frames``, ``gt_segments`` (G', 2) int64, ``gt_labels`` (G',)
        int64 (1-based), ``proposal_segments`` (P', 2), ``proposal_labels``, ``best_iou``,
        ``overlap_self``, ``proposal_type`` (P',) and the training pool
        ``pool_segments``/``pool_labels``/``pool_type``/``pool_is_gt`` with the raw
        regression targets ``pool_reg_targets`` of its positives (0 elsewhere).
        """
        gt_rows = np.asarray(gt_rows, np.float64).reshape(-1, 3)
        proposal_rows = np.asarray(proposal_rows, np.float64).reshape(-1, 5)
        keep, gt_seg, _ = make_instances(gt_rows[:, 1:3], num_frames)
        gt_labels = gt_rows[keep, 0].astype(np.int64)
        keep, prop_seg, coverage = make_instances(proposal_rows[:, 3:5], num_frames)
        prop = proposal_rows[keep]
        types = assign_proposal_types(prop[:, 1], prop[:, 2], coverage, **self.thresholds)

        gt_types = (np.zeros(len(gt_seg), np.int64) if add_gt_as_proposals
                    else np.zeros(0, np.int64))
        pool_seg = [gt_seg if add_gt_as_proposals else gt_seg[:0], prop_seg]
        pool_seg = np.concatenate(pool_seg).astype(np.int64)
        pool_labels = np.concatenate([gt_labels[:len(gt_types)], prop[:, 0].astype(np.int64)])
        pool_type = np.concatenate([gt_types, types])
        pool_is_gt = np.concatenate([np.ones(len(gt_types), bool), np.zeros(len(types), bool)])
        reg = np.zeros((len(pool_seg), 2))
        pos = pool_type == FOREGROUND
        if pos.any() and len(gt_seg):
            reg[pos] = regression_targets(pool_seg[pos], gt_seg)
        return dict(num_frames=int(num_frames), gt_segments=gt_seg, gt_labels=gt_labels,
                    proposal_segments=prop_seg, proposal_labels=prop[:, 0].astype(np.int64),
                    best_iou=prop[:, 1], overlap_self=prop[:, 2], proposal_type=types,
                    pool_segments=pool_seg, pool_labels=pool_labels, pool_type=pool_type,
                    pool_reg_targets=reg, pool_is_gt=pool_is_gt)

    @staticmethod
    def regression_constants(video_infos: Sequence[dict]) -> np.ndarray:
        """See :func:`regression_constants` (over the assigned videos of a dataset)."""
        return regression_constants(video_infos)

    @staticmethod
    def normalise(info: dict, consts: np.ndarray) -> np.ndarray:
        """The video's ``pool_reg_targets`` normalised by ``consts`` (positives only)."""
        return normalise_regression_targets(info['pool_reg_targets'], info['pool_type'], consts)

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v}' for k, v in self.thresholds.items())
        return f'{self.__class__.__name__}({args})'


def build_video_info(video_id: str, num_frames: int, gt_rows: np.ndarray,
                     proposal_rows: np.ndarray, assigner: Optional[dict] = None,
                     add_gt_as_proposals: bool = True, **extra) -> dict:
    """One video's assignment as a dict with ``video_id`` and ``extra`` fields
    (``SSNProposalAssigner(**assigner).assign(...)``; see there for the fields)."""
    assigner = {k: v for k, v in (assigner or {}).items() if k != 'type'}
    info = SSNProposalAssigner(**assigner).assign(num_frames, gt_rows, proposal_rows,
                                                  add_gt_as_proposals)
    return dict(video_id=video_id, **info, **extra)
