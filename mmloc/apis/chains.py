"""Links between the stages of a multi-stage method, for one-call inference.

A model whose predictions are not yet proposals states the link that turns them into the
next stage's input: a class attribute ``chain_link = '<name>'`` (BSN's TEM: ``'bsn_pgm'``).
:class:`~mmloc.apis.LocalizationInferencer` runs the first stage's ``test_step``, calls the
link on its data samples, and hands each video's link output to the next stage's test
pipeline together with the video's raw-input fields. Nothing is written to disk.

A link is a class registered here by name: ``__init__(link_cfg)`` reads its settings,
``__call__(data_samples) -> [dict]`` gives one dict of extra pipeline fields per video.
"""
from __future__ import annotations

import os
from typing import Callable, Dict, List, Union

import numpy as np
from mmengine.config import Config

#: link name -> link class
CHAIN_LINKS: Dict[str, Callable] = {}


def register_chain_link(name: str):
    def wrap(cls):
        CHAIN_LINKS[name] = cls
        return cls
    return wrap


def build_chain_link(name: str, link_cfg):
    if name not in CHAIN_LINKS:
        raise KeyError(f'chain link {name!r} is not registered (known: {sorted(CHAIN_LINKS)})')
    return CHAIN_LINKS[name](link_cfg)


@register_chain_link('bsn_pgm')
class BSNProposalLink:
    """BSN step 2 in memory: TEM's ``pred_tem`` -> PGM proposals + BSP features (spec §4.2-4.3).

    Gives ``pgm_proposals`` (K, 7) and ``pgm_bsp_feature`` (min(K, top_k), 32) per video,
    which PEM's ``LoadProposals`` reads instead of the PGM files. The TEM output is cast to
    float32 first, as the TEM CSVs are read back by the file chain, so both chains give the
    same numbers. There is no ground truth, so ``match_iou``/``match_ioa`` are 0 (PEM's test
    does not read them).

    Args:
        link_cfg: the BSN PGM config (path or :class:`Config`), read for
            ``pgm_proposals_cfg`` (``temporal_scale``, ``peak_threshold``) and
            ``pgm_features_test_cfg`` (``top_k`` and the BSP sampling).
    """

    def __init__(self, link_cfg: Union[str, os.PathLike, Config, dict]) -> None:
        from mmloc.apis.bsn_pgm_runner import pgm_kwargs
        if link_cfg is None:
            raise ValueError("the BSN chain needs PGM settings: give link_cfg (the BSN PGM "
                             "config, e.g. configs/localization/bsn/"
                             "bsn_pgm_400x100_activitynet_feature.py)")
        cfg = Config.fromfile(os.fspath(link_cfg)) \
            if isinstance(link_cfg, (str, os.PathLike)) else link_cfg
        missing = [k for k in ('pgm_proposals_cfg', 'pgm_features_test_cfg') if k not in cfg]
        if missing:
            name = getattr(cfg, 'filename', None) or '<link config>'
            raise KeyError(f'{name}: a BSN PGM config needs pgm_proposals_cfg and '
                           f'pgm_features_test_cfg; missing {missing}')
        self.kwargs = pgm_kwargs(dict(cfg['pgm_proposals_cfg']),
                                 dict(cfg['pgm_features_test_cfg']))

    def __call__(self, data_samples) -> List[dict]:
        from mmloc.apis.bsn_pgm_runner import pgm_one_video
        out = []
        for sample in data_samples:
            tem = np.asarray(sample.pred_tem, dtype=np.float32)
            try:
                proposals, bsp = pgm_one_video(tem, None, **self.kwargs)
            except ValueError as e:
                raise ValueError(f"video {sample.metainfo.get('video_name', '?')}: {e}") from None
            out.append(dict(pgm_proposals=proposals, pgm_bsp_feature=bsp))
        return out
