"""File-level BSN PGM driver: TEM CSVs -> proposal CSVs + BSP feature files (spec §4.5 step 3).

Each video is handled by one worker from start to end (read its TEM output, generate
candidates, match GT, write the proposal CSV, compute and write the BSP features), so
nothing travels back to the parent but a status word. All writes are atomic; a video
whose two output files both exist is skipped unless ``overwrite`` is set.
"""
from __future__ import annotations

import os
import os.path as osp
import time
from typing import Optional

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress

from mmloc.datasets.annotations import load_annotation_json, validate_record
from mmloc.datasets.transforms.proposal_loading import (read_tem_results, write_bsp_feature,
                                                        write_proposals)
from mmloc.models.utils.bsn_pgm import generate_bsp_feature, generate_candidate_proposals
from mmloc.structures import Segments, TimeGrid

#: Keys of ``pgm_features_*_cfg`` that are not arguments of ``generate_bsp_feature``.
_FEATURE_CFG_META = ('pgm_features_thread', 'top_k')


def pgm_kwargs(proposals_cfg: dict, features_cfg: dict) -> dict:
    """Arguments of :func:`pgm_one_video` from a PGM config's ``pgm_proposals_cfg`` and
    ``pgm_features_{train,test}_cfg``."""
    kwargs = dict(temporal_scale=int(proposals_cfg['temporal_scale']),
                  peak_threshold=float(proposals_cfg['peak_threshold']),
                  top_k=int(features_cfg['top_k']))
    kwargs.update({k: v for k, v in features_cfg.items() if k not in _FEATURE_CFG_META})
    return kwargs


def pgm_one_video(tem: np.ndarray, gt_segments: Optional[np.ndarray], temporal_scale: int,
                  peak_threshold: float, top_k: int, **bsp_kwargs) -> tuple:
    """Proposals and BSP features of one video (no I/O).

    Args:
        tem: (T, 5) TEM output. gt_segments: (G, 2) normalised GT or None.
        top_k: proposals that get BSP features.
        bsp_kwargs: sampling arguments of ``generate_bsp_feature``.

    Returns:
        ``(proposals (K, 7) float64, bsp (min(K, top_k), 32) float64)``.
    """
    proposals = generate_candidate_proposals(tem, temporal_scale, peak_threshold, gt_segments)
    # MMAction2 re-reads the proposal CSV as float32 before sampling; do the same cast so
    # that features do not depend on whether proposals came from memory or from disk.
    tops = proposals[:top_k, :2].astype(np.float32)
    return proposals, generate_bsp_feature(tem, tops, **bsp_kwargs)


def pgm_gt_segments(info: dict) -> np.ndarray:
    """(G, 2) GT segments of one validated annotation record on PGM's normalised axis.

    GT matching divides by corrected_second and does not clip (spec §1.3).
    """
    grid = TimeGrid.from_activitynet(1, info['duration_second'], info['duration_frame'],
                                     info['feature_frame'])
    gt = Segments([a['segment'] for a in info['annotations']], 'second')
    return gt.to('normalised', grid).numpy()


def _process(job: dict) -> str:
    """Worker: one video, files in and out. Returns 'written' or 'skipped'."""
    prop_path, feat_path = job['prop_path'], job['feat_path']
    if not job['overwrite'] and osp.isfile(prop_path) and osp.isfile(feat_path):
        return 'skipped'
    tem = read_tem_results(job['tem_path'])
    try:
        proposals, bsp = pgm_one_video(tem, job['gt_segments'], **job['kwargs'])
    except ValueError as e:
        raise ValueError(f'{job["tem_path"]}: video {job["video_name"]}: {e}') from None
    write_proposals(prop_path, proposals)
    write_bsp_feature(feat_path, bsp)
    return 'written'


def _video_jobs(ann_file: str, tem_results_dir: str, pgm_proposals_dir: str,
                pgm_features_dir: str, kwargs: dict, overwrite: bool) -> list:
    data = load_annotation_json(ann_file)
    jobs = []
    for video_name, record in data.items():
        info = validate_record(ann_file, video_name, record)
        jobs.append(dict(
            video_name=video_name, gt_segments=pgm_gt_segments(info),
            tem_path=osp.join(tem_results_dir, video_name + '.csv'),
            prop_path=osp.join(pgm_proposals_dir, video_name + '.csv'),
            feat_path=osp.join(pgm_features_dir, video_name + '.npy'),
            kwargs=kwargs, overwrite=overwrite))
    return jobs


def _check_tem_files(jobs: list, tem_results_dir: str, ann_file: str) -> None:
    hint = ('run the TEM test first (python tools/test.py <tem config> <tem checkpoint>), '
            'which writes one CSV per video there')
    if not osp.isdir(tem_results_dir):
        raise FileNotFoundError(f'{tem_results_dir}: TEM results directory does not exist; '
                                f'{hint}')
    missing = [j['tem_path'] for j in jobs if not osp.isfile(j['tem_path'])]
    if missing:
        shown = ', '.join(missing[:3]) + (f' and {len(missing) - 3} more' if len(missing) > 3
                                          else '')
        raise FileNotFoundError(f'{len(missing)} of {len(jobs)} TEM result files for the videos '
                                f'of {ann_file} are missing: {shown}; {hint}')


def run_pgm(ann_file: str, tem_results_dir: str, pgm_proposals_dir: str, pgm_features_dir: str,
            proposals_cfg: dict, features_cfg: dict, workers: int = 1, overwrite: bool = False,
            progress: bool = True) -> dict:
    """Generate proposal CSVs and BSP features for every video of ``ann_file``.

    Args:
        ann_file: MMAction2 annotation JSON (GT is needed for ``match_iou``/``match_ioa``).
        tem_results_dir: directory of ``<video_name>.csv`` TEM outputs.
        pgm_proposals_dir, pgm_features_dir: output directories (created).
        proposals_cfg: ``dict(temporal_scale, peak_threshold[, pgm_proposals_thread])``.
        features_cfg: ``dict(top_k, bsp_boundary_ratio, num_sample_start, num_sample_end,
            num_sample_action, num_sample_interp[, pgm_features_thread])``.
        workers: processes (1 runs in this process).
        overwrite: recompute videos whose outputs already exist.
        progress: show a progress bar.

    Returns:
        ``dict(videos, written, skipped, seconds)``.
    """
    kwargs = pgm_kwargs(proposals_cfg, features_cfg)
    jobs = _video_jobs(ann_file, tem_results_dir, pgm_proposals_dir, pgm_features_dir, kwargs,
                       overwrite)
    _check_tem_files(jobs, tem_results_dir, ann_file)
    os.makedirs(pgm_proposals_dir, exist_ok=True)
    os.makedirs(pgm_features_dir, exist_ok=True)
    start = time.perf_counter()
    workers = max(1, min(int(workers), len(jobs)))
    if not progress:
        if workers == 1:
            statuses = [_process(j) for j in jobs]
        else:
            from multiprocessing import Pool
            with Pool(workers) as pool:
                statuses = pool.map(_process, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
    elif workers == 1:
        statuses = track_progress(_process, jobs)
    else:
        statuses = track_parallel_progress(_process, jobs, workers,
                                           chunksize=max(1, len(jobs) // (20 * workers)))
    return dict(videos=len(jobs), written=statuses.count('written'),
                skipped=statuses.count('skipped'), seconds=time.perf_counter() - start)


def run_pgm_from_config(cfg, mode: str = 'test', workers: Optional[int] = None,
                        overwrite: bool = False, progress: bool = True) -> dict:
    """PGM over the videos of a BSN PGM config (spec §4.5 step 3, §7.3).

    ``mode='train'`` uses ``ann_file_train`` and ``pgm_features_train_cfg``;
    ``mode='test'`` uses ``ann_file_val`` (not ``ann_file_test``, as in MMAction2) and
    ``pgm_features_test_cfg``. ``workers`` defaults to the config's
    ``pgm_proposals_cfg.pgm_proposals_thread`` capped at the CPU count.
    """
    if mode not in ('train', 'test'):
        raise ValueError(f'mode must be "train" or "test", got {mode!r}')
    ann_key = 'ann_file_train' if mode == 'train' else 'ann_file_val'
    feat_key = 'pgm_features_train_cfg' if mode == 'train' else 'pgm_features_test_cfg'
    required = (ann_key, 'tem_results_dir', 'pgm_proposals_dir', 'pgm_features_dir',
                'pgm_proposals_cfg', feat_key)
    missing = [k for k in required if k not in cfg]
    if missing:
        filename = getattr(cfg, 'filename', None) or '<config>'
        raise KeyError(f'{filename}: a BSN PGM config needs the keys {list(required)}; '
                       f'missing {missing}')
    if workers is None:
        workers = min(int(cfg['pgm_proposals_cfg'].get('pgm_proposals_thread', 1)),
                      os.cpu_count() or 1)
    return run_pgm(cfg[ann_key], cfg['tem_results_dir'], cfg['pgm_proposals_dir'],
                   cfg['pgm_features_dir'], dict(cfg['pgm_proposals_cfg']), dict(cfg[feat_key]),
                   workers=workers, overwrite=overwrite, progress=progress)


