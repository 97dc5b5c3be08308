"""Video files -> snippet features with a registered extractor, streamed.

An extractor config (``configs/extractors/*.py``) gives ``model`` (a
:class:`~mmloc.models.extractors.VideoFeatureExtractor`), ``sampling`` (a
:class:`~mmloc.video.SnippetSampling`), ``decode`` (``short_side``) and ``batch_size``.
:class:`FeatureExtractor` decodes a video chunk by chunk (``batch_size`` snippets at a
time; data-loading workers decode other videos meanwhile), runs the model on each chunk and
returns ``(T, C)`` features plus the sidecar that describes their time grid
(:mod:`mmloc.video.sidecar`). :func:`feature_layout` says what a localizer config reads
(format, T, file name) so that the features land where it looks for them.
"""
from __future__ import annotations

import contextlib
import copy
import os
import os.path as osp
import time
from typing import Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config

from mmloc.structures import TimeGrid
from mmloc.utils.io import atomic_open, atomic_save_npy
from mmloc.video import (SnippetSampling, iter_frames, iter_snippets, probe_video,
                         write_sidecar)
from mmloc.video.sidecar import grid_to_dict, sidecar_path

FEATURE_FORMATS = ('npy', 'csv')


def load_extractor_config(config, cfg_options: Optional[dict] = None,
                          sampling: Optional[dict] = None) -> Config:
    """The extractor config with overrides (``sampling`` keys: fps, window, stride,
    frames_per_snippet; None values are ignored)."""
    cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(
        os.fspath(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'{getattr(cfg, "filename", config)}: an extractor config needs '
                         '"model" (a VideoFeatureExtractor)')
    merged = dict(cfg.get('sampling') or {})
    merged.update({k: v for k, v in (sampling or {}).items() if v is not None})
    cfg.sampling = merged
    return cfg


class FeatureExtractor:
    """A built extractor: ``extract(video) -> (features (T, C) float32, sidecar dict)``.

    Args:
        config: extractor config file or :class:`Config`.
        checkpoint: local weights (the config's ``checkpoint_layout`` key map).
        random_init: allow random weights (tests, benchmarks); the sidecar says so. They are
            drawn from ``random_seed`` (without touching the global RNG), so the same
            random extractor serves extraction and later inference.
        device: torch device.
        cfg_options, sampling: overrides (see :func:`load_extractor_config`).
    """

    def __init__(self, config, checkpoint: Optional[str] = None, random_init: bool = False,
                 device: str = 'cpu', cfg_options: Optional[dict] = None,
                 sampling: Optional[dict] = None, random_seed: int = 0) -> None:
        from mmloc.models.extractors import PUBLISHED
        from mmloc.registry import MODELS
        from mmloc.utils import register_all_modules
        register_all_modules()
        self.cfg = load_extractor_config(config, cfg_options, sampling)
        self.config_name = getattr(self.cfg, 'filename', None) or '<config>'
        self.sampling = SnippetSampling(**self.cfg.sampling)
        self.short_side = (self.cfg.get('decode') or {}).get('short_side')
        self.batch_size = int(self.cfg.get('batch_size', 4))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(random_seed)
            self.model = MODELS.build(self.cfg.model)
        layout = getattr(self.model, 'checkpoint_layout', 'i3d')
        if checkpoint is not None:
            self.model.load_checkpoint(checkpoint)
        elif not random_init:
            raise FileNotFoundError(
                f'{self.config_name}: give the extractor weights (--checkpoint FILE; mmloc never '
                f'downloads them; published by {PUBLISHED.get(layout, "the authors")}), or '
                '--random-init for a random extractor (tests and benchmarks only)')
        self.checkpoint = checkpoint
        self.device = torch.device(device)
        self.model.to(self.device).eval()
        self.feat_dim = getattr(self.model, 'feat_dim', None)

    # ------------------------------------------------------------------ the video side
    def sampling_for(self, video: str) -> SnippetSampling:
        """The sampling with the video's own average rate when the config gives no fps."""
        if self.sampling.fps is not None:
            return self.sampling
        info = probe_video(video)
        if not info.average_fps:
            raise ValueError(f'{video}: the container states no frame rate; give --fps')
        return self.sampling.with_fps(info.average_fps)

    def iter_chunks(self, video: str) -> Iterator[dict]:
        """The decoded chunks of ``video`` (:func:`iter_video_chunks`)."""
        return iter_video_chunks(video, self.sampling_for(video), self.short_side,
                                 self.batch_size)

    # ------------------------------------------------------------------ the model side
    @torch.no_grad()
    def embed(self, clips: np.ndarray) -> np.ndarray:
        """``(B, F, H, W, 3)`` uint8 -> ``(B, D)`` float32."""
        return self.model(torch.from_numpy(clips).to(self.device)).cpu().numpy()

    def assemble(self, video: str, chunks) -> tuple:
        """Run the model over ``chunks`` of one video; ``(features, sidecar, stats)``."""
        feats, starts = [], []
        stats = dict(decode_s=0.0, model_s=0.0, snippets=0)
        end = None
        for chunk in chunks:
            stats['decode_s'] += chunk['decode_s']
            if chunk.get('end'):
                end = chunk
                break
            tic = time.perf_counter()
            feats.append(self.embed(chunk['clips']))
            stats['model_s'] += time.perf_counter() - tic
            starts.extend(chunk['starts'])
            stats['snippets'] += len(chunk['starts'])
        if end is None or not feats:
            raise ValueError(f'{video}: the extraction stopped before the end of the video')
        features = np.concatenate(feats).astype(np.float32)
        sidecar = self.sidecar(video, features.shape[0], end, starts)
        return features, sidecar, stats

    def extract(self, video: str | os.PathLike) -> tuple:
        """``(features (T, C) float32, sidecar dict)`` of one video (module docstring)."""
        video = os.fspath(video)
        features, sidecar, _ = self.assemble(video, self.iter_chunks(video))
        return features, sidecar

    def sidecar(self, video: str, num_snippets: int, end: dict, starts: list) -> dict:
        s = end['sampling']
        duration_s = end['num_frames'] / s['fps']
        grid = TimeGrid.from_features(num_snippets, s['fps'], s['stride'], s['window'],
                                      duration_s)
        last_frame = starts[-1][1] + s['window']
        return dict(
            video=osp.abspath(video), num_snippets=int(num_snippets), sampling=s,
            num_frames=int(end['num_frames']), duration_s=duration_s,
            time_grid=grid_to_dict(grid),
            snippet_grid=grid_to_dict(grid),
            snippet_start_frame=[int(k) for _, k, _ in starts],
            snippet_start_s=[float(t) for _, _, t in starts],
            frames_covered=int(last_frame), covered_s=last_frame / s['fps'],
            source=end['info'],
            extractor=dict(config=self.config_name, checkpoint=self.checkpoint,
                           random_init=self.checkpoint is None, feat_dim=self.feat_dim))


def iter_video_chunks(video: str, sampling: SnippetSampling, short_side: Optional[int],
                      batch_size: int) -> Iterator[dict]:
    """Decode ``video`` into batches of snippets (memory: one batch and one window).

    Yields ``dict(clips uint8 (B, F, H, W, 3), starts [(snippet_idx, k, source_time_s)],
    decode_s)`` for consecutive batches, then ``dict(end=True, sampling, num_frames, info,
    decode_s)`` with the resampled frame count and the container's facts.
    """
    count = [0]

    def counted(frames):
        for frame in frames:
            count[0] += 1
            yield frame

    frames = counted(iter_frames(video, fps=sampling.fps, short_side=short_side))
    clips, starts = [], []
    tic = time.perf_counter()
    for idx, clip, first in iter_snippets(frames, sampling, video):
        clips.append(clip)
        starts.append((idx, first.index, first.source_time_s))
        if len(clips) == batch_size:
            yield dict(clips=np.stack(clips), starts=starts, decode_s=time.perf_counter() - tic)
            clips, starts = [], []
            tic = time.perf_counter()
    if clips:
        yield dict(clips=np.stack(clips), starts=starts, decode_s=time.perf_counter() - tic)
    info = probe_video(video)
    yield dict(end=True, sampling=sampling.to_dict(), num_frames=count[0], info=dict(
        width=info.width, height=info.height, average_fps=info.average_fps,
        container_duration_s=info.duration_s, time_base=info.time_base),
        decode_s=time.perf_counter() - tic)


class VideoChunks(torch.utils.data.IterableDataset):
    """The chunks of several videos for a DataLoader: each worker decodes whole videos
    (every ``num_workers``-th), tagging each chunk with ``video``; a video that fails gives one
    ``dict(video, error)`` and the worker goes on with the next."""

    def __init__(self, videos: Sequence[str], extractor: 'FeatureExtractor') -> None:
        self.videos = list(videos)
        self.sampling = extractor.sampling
        self.short_side = extractor.short_side
        self.batch_size = extractor.batch_size

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, num = (info.id, info.num_workers) if info is not None else (0, 1)
        for i in range(wid, len(self.videos), num):
            video = self.videos[i]
            try:
                sampling = self.sampling
                if sampling.fps is None:
                    fps = probe_video(video).average_fps
                    if not fps:
                        raise ValueError(f'{video}: the container states no frame rate; '
                                         'give --fps')
                    sampling = sampling.with_fps(fps)
                for chunk in iter_video_chunks(video, sampling, self.short_side,
                                               self.batch_size):
                    yield dict(chunk, video=video)
            except (OSError, ValueError, RuntimeError) as e:
                yield dict(video=video, error=f'{type(e).__name__}: {e}')


def _as_is(item):
    return item


def extract_many(extractor: 'FeatureExtractor', jobs: Sequence[tuple], num_workers: int = 0,
                 num_steps: Optional[int] = None, on_done=None) -> dict:
    """Extract and save the features of ``jobs`` = ``[(video, out_path)]``.

    ``num_workers`` DataLoader workers decode videos while the model embeds; a video that
    fails is reported through ``on_done(video, error=...)`` and the others go on. Returns
    ``dict(done=[...], failed={video: message}, snippets, decode_s, model_s)``.
    """
    out_of = dict(jobs)
    loader = torch.utils.data.DataLoader(
        VideoChunks([v for v, _ in jobs], extractor), batch_size=None, num_workers=num_workers,
        collate_fn=_as_is, prefetch_factor=2 if num_workers else None)
    pending: dict = {}
    summary = dict(done=[], failed={}, snippets=0, decode_s=0.0, model_s=0.0)
    for chunk in loader:
        video = chunk['video']
        if 'error' in chunk:
            pending.pop(video, None)
            summary['failed'][video] = chunk['error']
            if on_done:
                on_done(video, error=chunk['error'])
            continue
        feats, starts = pending.setdefault(video, ([], []))
        summary['decode_s'] += chunk['decode_s']
        if not chunk.get('end'):
            tic = time.perf_counter()
            feats.append(extractor.embed(chunk['clips']))
            summary['model_s'] += time.perf_counter() - tic
            starts.extend(chunk['starts'])
            continue
        pending.pop(video)
        try:
            features = np.concatenate(feats).astype(np.float32)
            sidecar = extractor.sidecar(video, features.shape[0], chunk, starts)
            save_features(out_of[video], features, sidecar, num_steps)
        except (OSError, ValueError) as e:
            summary['failed'][video] = f'{type(e).__name__}: {e}'
            if on_done:
                on_done(video, error=summary['failed'][video])
            continue
        summary['done'].append(video)
        summary['snippets'] += features.shape[0]
        if on_done:
            on_done(video, snippets=features.shape[0])
    return summary


# ---------------------------------------------------------------------- writing
def save_features(path: str, features: np.ndarray, sidecar: dict,
                  num_steps: Optional[int] = None) -> dict:
    """Write ``features`` (T, C) to ``path`` (``.npy`` or ``.csv`` with a header line) and its
    sidecar, atomically; ``num_steps`` resamples to a fixed T first (``csv_mean_100``: the
    MMAction2 rule of :func:`~mmloc.datasets.transforms.resample.resample_feature`), and the
    sidecar's ``time_grid`` is then the resized grid (:meth:`TimeGrid.resized`).

    Returns the sidecar written.
    """
    sidecar = copy.deepcopy(sidecar)
    if num_steps:
        from mmloc.datasets.transforms.resample import resample_feature
        features = resample_feature(features, int(num_steps))
        grid = TimeGrid(**sidecar['snippet_grid']).resized(int(num_steps))
        sidecar['time_grid'] = grid_to_dict(grid)
        sidecar['resized_to'] = int(num_steps)
    ext = osp.splitext(path)[1]
    if ext not in ('.npy', '.csv'):
        raise ValueError(f'{path}: features are written as .npy or .csv, not {ext!r}')
    # the sidecar, written last, marks the pair finished: an older one goes first, so a run
    # that fails or dies between the two writes never leaves new features beside old facts
    with contextlib.suppress(FileNotFoundError):
        os.unlink(sidecar_path(path))
    if ext == '.npy':
        atomic_save_npy(path, np.ascontiguousarray(features, np.float32))
    elif ext == '.csv':
        header = ','.join(f'f{i}' for i in range(features.shape[1]))
        with atomic_open(path, 'w', encoding='utf-8') as f:
            np.savetxt(f, features, delimiter=',', fmt='%.7g', header=header, comments='')
    write_sidecar(path, sidecar)
    return sidecar


def is_finished(path: str) -> bool:
    """A feature file and its sidecar both exist (written atomically: both are complete)."""
    return osp.isfile(path) and osp.isfile(sidecar_path(path))


# ---------------------------------------------------------------------- localizer layouts
def _load_transform(pipeline: Sequence) -> dict:
    for t in pipeline or ():
        if isinstance(t, dict) and str(t.get('type', '')).split('.')[-1] in (
                'LoadLocalizationFeature', 'LoadAFSDFrames'):
            return t
    return {}


def feature_layout(localizer_cfg) -> dict:
    """What the localizer's test dataset reads: ``dict(format, num_steps, name_tmpl,
    feat_dim, dataset_type)``.

    * ActivityNet (BMN, BSN): ``.csv`` resampled to the pipeline's ``temporal_dim``
      (``csv_mean_100``); FeatureDataset: its ``feature_name_tmpl`` (``.npy``/``.csv``), any T;
      AFSD on features: ``.npy`` ``(T, C)``.
    """
    from .inferencer import _type_name, find_test_dataset_cfg
    cfg = localizer_cfg if isinstance(localizer_cfg, Config) else Config.fromfile(
        os.fspath(localizer_cfg))
    ds = find_test_dataset_cfg(cfg) or {}
    kind = _type_name(ds) if ds else 'ActivityNetDataset'
    load = _load_transform(ds.get('pipeline') or cfg.get('test_pipeline'))
    model = cfg.get('model') or {}
    feat_dim = load.get('feat_dim') or model.get('feat_dim') or model.get('tem_feat_dim')
    if kind == 'ActivityNetDataset':
        steps = load.get('temporal_dim') or model.get('temporal_dim')
        return dict(format='csv', num_steps=steps, name_tmpl='{}.csv', feat_dim=feat_dim,
                    dataset_type=kind)
    if kind == 'FeatureDataset':
        tmpl = ds.get('feature_name_tmpl', '{}.npy')
        return dict(format=osp.splitext(tmpl)[1].lstrip('.'), num_steps=None, name_tmpl=tmpl,
                    feat_dim=feat_dim, dataset_type=kind)
    if kind == 'ThumosAFSDDataset':
        if int(ds.get('feature_stride', 1)) == 1:
            raise ValueError(f'{cfg.filename}: this AFSD config reads frames, not features: '
                             'run it on the video directly or use an AFSD feature config '
                             '(configs/localization/afsd/afsd_feature_thumos14.py)')
        net = model.get('net') or {}
        return dict(format='npy', num_steps=None, name_tmpl='{}.npy',
                    feat_dim=net.get('feature_channels'), dataset_type=kind)
    raise ValueError(f'{cfg.filename}: features for a {kind} test dataset are not written by '
                     'the extractor (supported: ActivityNetDataset, FeatureDataset, '
                     'ThumosAFSDDataset feature configs)')


def list_videos(source: str | Sequence[str], exts: Optional[Sequence[str]] = None) -> List[str]:
    """Video files of a folder (sorted), of a text list (one path a line, relative to the
    list, ``#`` comments), or a given list."""
    from mmloc.video import VIDEO_EXTS
    exts = tuple(exts or VIDEO_EXTS)
    if not isinstance(source, (str, os.PathLike)):
        return [os.fspath(s) for s in source]
    source = os.fspath(source)
    if osp.isdir(source):
        found = sorted(osp.join(source, f) for f in os.listdir(source)
                       if f.lower().endswith(exts))
        if not found:
            raise ValueError(f'{source}: the folder holds no video file ({", ".join(exts)})')
        return found
    if source.lower().endswith(exts):
        return [source]
    if not osp.isfile(source):
        raise FileNotFoundError(f'{source}: no such video, folder or list')
    root = osp.dirname(osp.abspath(source))
    out = []
    with open(source, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line:
                out.append(line if osp.isabs(line) else osp.join(root, line))
    if not out:
        raise ValueError(f'{source}: the list names no video')
    return out
