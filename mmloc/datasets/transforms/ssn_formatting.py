"""``PackSSNInputs``: deprecated alias of :class:`PackLocalizationInputs` with SSN's keys.

SSN pipelines end with the one pack transform (see ``configs/localization/ssn/``)::

    train: dict(type='PackLocalizationInputs', keys=SSN_TRAIN_KEYS, meta_keys=SSN_META_KEYS)
    test:  dict(type='PackLocalizationInputs', keys=SSN_TEST_KEYS, meta_keys=SSN_META_KEYS)

``data_sample.proposals`` (one row per proposal): train ``labels`` (P,) 1-based
(0 = background), ``types`` (P,) 0/1/2, ``reg_targets`` (P, 2) normalised, ``scale_factors``
(P, 2); test ``segments`` (P, 2) relative [0, 1], ``ticks`` (P, 4) int64, ``scale_factors``
(P, 2). Metainfo: ``video_id`` (= ``video_name``), ``total_frames``, ``fps``,
``duration_second``, ``reg_norm_consts`` (2, 2) and ``annotations`` (the SSN datasets compute
them in seconds through the video's ``TimeGrid.from_frames``, 0-based class ids).
"""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

from mmloc.registry import TRANSFORMS

from .formatting import PackLocalizationInputs

SSN_TRAIN_KEYS = ('proposal_labels', 'proposal_type', 'reg_targets', 'proposal_scale_factor')
SSN_TEST_KEYS = ('relative_proposals', 'proposal_ticks', 'proposal_scale_factor')
SSN_META_KEYS = ('video_id', 'video_name', 'total_frames', 'fps', 'duration_second',
                 'reg_norm_consts', 'annotations')
#: the alias packs train and test items alike
SSN_ALL_KEYS = SSN_TRAIN_KEYS + ('relative_proposals', 'proposal_ticks')


@TRANSFORMS.register_module()
class PackSSNInputs(PackLocalizationInputs):
    """Deprecated: ``PackLocalizationInputs`` with SSN's train + test keys and metainfo.

    Kept so that configs naming it keep working; the train and test keys never occur
    together (the SSN datasets give test items no sampled labels/types), so one key list
    serves both.
    """

    def __init__(self, keys: Optional[Sequence[str]] = SSN_ALL_KEYS,
                 meta_keys: Sequence[str] = SSN_META_KEYS) -> None:
        warnings.warn('PackSSNInputs is deprecated: use dict(type=\'PackLocalizationInputs\', '
                      'keys=..., meta_keys=...) (see configs/localization/ssn/)',
                      FutureWarning, stacklevel=2)
        super().__init__(keys=keys, meta_keys=meta_keys)
