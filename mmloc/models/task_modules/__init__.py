"""Task modules of the models (mmdet's ``models/task_modules/``): model logic that runs on the
data side or around the network, built from config dicts through ``TASK_UTILS``.

* SSN: proposal assignment and regression targets (``SSNProposalAssigner``), per-video /
  dataset-wide proposal sampling (``SSNProposalSampler``) and sliding-window proposals
  (``SSNSlidingWindowProposals``). The SSN datasets build and call them.
* ``SlidingWindowInference``: slide fixed-length windows over a long input, run them in
  batches and collect one result per window (AFSD's test-time windowing).
"""
from .sliding_window import SlidingWindowInference
from .ssn_assigner import (BACKGROUND, FOREGROUND, INCOMPLETE, SSNProposalAssigner,
                           assign_proposal_types, build_video_info, make_instances,
                           normalise_regression_targets, regression_constants,
                           regression_targets)
from .ssn_proposals import SSNSlidingWindowProposals, sliding_window_proposals
from .ssn_sampler import (SSNProposalSampler, global_pools, sample_video_proposals,
                          sampling_counts)

__all__ = ['SlidingWindowInference', 'SSNProposalAssigner', 'SSNProposalSampler',
           'SSNSlidingWindowProposals', 'FOREGROUND', 'INCOMPLETE', 'BACKGROUND',
           'assign_proposal_types', 'build_video_info', 'make_instances',
           'normalise_regression_targets', 'regression_constants', 'regression_targets',
           'sliding_window_proposals', 'global_pools', 'sample_video_proposals',
           'sampling_counts']
