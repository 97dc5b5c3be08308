"""SSN proposal sampling (spec §5.2): per-video draws of positives, incompletes and
backgrounds with a dataset-wide fallback, and the proposals scored at test time.

The sampler works on the per-video dicts of :class:`SSNProposalAssigner` (``pool_*`` fields,
with normalised ``pool_reg_targets``). Sampling happens when a training item is loaded,
because the sampled proposals decide which frames the pipeline reads; the dataset-wide pools
are the one piece of dataset-level state (built once by :meth:`SSNProposalSampler.global_pools`
and kept by the dataset).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from mmloc.registry import TASK_UTILS

from .ssn_assigner import BACKGROUND, FOREGROUND, INCOMPLETE


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


def global_pools(pool_types: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Dataset-wide pools: per type (0, 1, 2), the (M, 2) int64 rows ``(video_idx, pool_idx)``
    of every proposal of that type, in video order."""
    pools = []
    for ptype in (FOREGROUND, INCOMPLETE, BACKGROUND):
        rows = [np.stack([np.full(int((t == ptype).sum()), i), np.flatnonzero(t == ptype)], 1)
                for i, t in enumerate(pool_types)]
        pools.append(np.concatenate(rows).astype(np.int64) if rows else np.zeros((0, 2),
                                                                                   np.int64))
    return pools


@TASK_UTILS.register_module()
class SSNProposalSampler:
    """Sample SSN training proposals of a video (spec §5.2).

    Config: ``sampler=dict(type='SSNProposalSampler', num_per_video=8, ...)`` in the SSN
    datasets; a dict without ``type`` (MMAction2 0.x's form) means this class.

    Args:
        num_per_video: proposals per video and iteration.
        positive_ratio / background_ratio / incomplete_ratio: the 1:1:6 split.
        add_gt_as_proposals: GTs join the pool as positives (read by the dataset when it
            calls the assigner).
        video_centric: draw from the video's own pool (falling back to the dataset-wide one
            for a missing type); False draws every type from the dataset-wide pools.
    """

    def __init__(self, num_per_video: int = 8, positive_ratio: float = 1,
                 background_ratio: float = 1, incomplete_ratio: float = 6,
                 add_gt_as_proposals: bool = True, video_centric: bool = True):
        self.num_per_video = num_per_video
        self.positive_ratio = positive_ratio
        self.background_ratio = background_ratio
        self.incomplete_ratio = incomplete_ratio
        self.add_gt_as_proposals = add_gt_as_proposals
        self.video_centric = video_centric

    @property
    def counts(self) -> tuple:
        """(num_positive, num_incomplete, num_background)."""
        return sampling_counts(self.num_per_video, self.positive_ratio, self.background_ratio,
                               self.incomplete_ratio)

    @staticmethod
    def global_pools(video_infos: Sequence[dict]) -> List[np.ndarray]:
        """The dataset-wide pools of ``video_infos`` (see :func:`global_pools`)."""
        return global_pools([v['pool_type'] for v in video_infos])

    def sample(self, info: dict, video_infos: Sequence[dict], pools: Sequence[np.ndarray],
               rng) -> dict:
        """Training proposals of the video ``info``.

        Args:
            info: the video's assigned dict (normalised ``pool_reg_targets``).
            video_infos: every video of the dataset (the fallback pools index them).
            pools: :meth:`global_pools` of ``video_infos``.
            rng: ``np.random.Generator`` or the ``np.random`` module.

        Returns ``proposal_segments`` (n, 2) int64 frames, ``proposal_labels`` (n,) int64
        (0 for backgrounds), ``proposal_type`` (n,) int64 and ``reg_targets`` (n, 2) float32
        (0 except on positives), in the order positives, incompletes, backgrounds.
        """
        own = info['pool_type'] if self.video_centric else np.zeros(0, np.int64)
        picks = sample_video_proposals(own, self.counts, rng, pools)
        segs, labels, types, regs = [], [], [], []
        for vid, i, ptype in picks:
            src = info if vid is None else video_infos[vid]
            segs.append(src['pool_segments'][i])
            labels.append(0 if ptype == BACKGROUND else int(src['pool_labels'][i]))
            types.append(ptype)
            regs.append(src['pool_reg_targets'][i] if ptype == FOREGROUND else np.zeros(2))
        return dict(proposal_segments=np.asarray(segs, np.int64).reshape(-1, 2),
                    proposal_labels=np.asarray(labels, np.int64),
                    proposal_type=np.asarray(types, np.int64),
                    reg_targets=np.asarray(regs, np.float32).reshape(-1, 2))

    @staticmethod
    def test_proposals(info: dict) -> np.ndarray:
        """Proposals scored at test time: all of the video's (P, 2) int64 frames, or one
        whole-video proposal ``[0, max(1, n - 1)]`` when it has none (0.x
        ``SSNInstance(0, n - 1)``)."""
        segs = info['proposal_segments']
        if len(segs) == 0:
            segs = np.array([[0, max(1, info['num_frames'] - 1)]], np.int64)
        return segs

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(num_per_video={self.num_per_video}, ratios='
                f'{self.positive_ratio}:{self.background_ratio}:{self.incomplete_ratio}, '
                f'add_gt_as_proposals={self.add_gt_as_proposals}, '
                f'video_centric={self.video_centric})')
