"""``LocalizationInferencer``: predictions for raw videos with any mmloc model.

The same path as ``tools/test.py`` (mmengine's ``BaseInferencer`` workflow): the config's
**test pipeline** -> the test dataloader's **collate** -> ``model.test_step``. What a dataset
would have read from its annotation file (durations, frame counts, SSN's proposals) comes from
a small per-dataset-type adapter (:mod:`mmloc.apis.raw_inputs`), never from a hand-built data
sample. Two changes adapt the test pipeline to raw input: a ``LoadLocalizationFeature`` with a
fixed ``temporal_dim`` (BMN, BSN's TEM) drops that check and is followed by
``ResizeFeature(temporal_dim)`` (spec §1.1's resampling), and feature caching is off.

Multi-stage methods: a model that states ``chain_link`` (BSN's TEM: ``'bsn_pgm'``) is run with
its next stage (``next_stage=(config, checkpoint)``, BSN's PEM) in one call; the link
(:mod:`mmloc.apis.chains`) turns the first stage's predictions into the next stage's pipeline
input in memory.

Example::

    from mmloc.apis import LocalizationInferencer
    inferencer = LocalizationInferencer('configs/.../bmn_400x100_2x8_9e_activitynet_feature.py',
                                        'bmn.pth', device='cpu')
    out = inferencer(['v_a.csv', dict(input='v_b.npy', duration_s=47.5)], duration_s=120.0)
    out['predictions'][0]   # {'video_name', 'segments': [[start_s, end_s], ...], 'scores'}
"""
from __future__ import annotations

import copy
import os
import os.path as osp
import sys
from functools import partial
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.infer import BaseInferencer
from mmengine.runner import load_checkpoint
from mmengine.utils import ProgressBar
from torch import nn

from mmloc.datasets.transforms.loading import FEATURE_EXTS
from mmloc.utils import register_all_modules
from .chains import build_chain_link
from .raw_inputs import RawVideo, build_adapter

#: metainfo an ActivityNet-style test pipeline packs (for configs that have none)
ACTIVITYNET_META = ('video_name', 'duration_second', 'duration_frame', 'annotations',
                    'feature_frame')

#: dataset wrappers: where their first dataset config is
_WRAPPERS = {'ConcatDataset': lambda c: c['datasets'][0], 'RepeatDataset': lambda c: c['dataset'],
             'ClassBalancedDataset': lambda c: c['dataset']}


def build_localizer(cfg: Config, checkpoint: Optional[str] = None,
                    device: str = 'cpu') -> nn.Module:
    """The model of ``cfg`` with ``checkpoint`` loaded strictly (MMAction2 0.x / 1.x key maps
    are the models' own ``_load_from_state_dict``), ``model.cfg = cfg``, in eval mode."""
    from mmloc.engine import setup_runtime
    from mmloc.registry import MODELS
    register_all_modules()
    setup_runtime()     # mmloc's checkpoint loader (weights_only allow-list), as the tools
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.cfg = cfg
    return model.to(device).eval()


def _type_name(t) -> str:
    t = t.get('type') if isinstance(t, dict) else type(t).__name__
    name = t if isinstance(t, str) else getattr(t, '__name__', str(t))
    return name.split('.')[-1]


def find_test_dataset_cfg(cfg: Config) -> Optional[dict]:
    """The test dataset config (the first dataset of a ``ConcatDataset``), or None."""
    loader = cfg.get('test_dataloader')
    ds = loader.get('dataset') if loader else None
    while ds is not None and _type_name(ds) in _WRAPPERS:
        ds = _WRAPPERS[_type_name(ds)](ds)
    return copy.deepcopy(ds) if ds is not None else None


def default_dataset_cfg(cfg: Config, model: nn.Module) -> dict:
    """For model-only configs: the config's ``test_pipeline`` or an ActivityNet feature
    pipeline with the model's ``temporal_dim`` / ``feat_dim``."""
    pipeline = cfg.get('test_pipeline')
    if not pipeline:
        t = getattr(model, 'temporal_dim', None)
        pipeline = [dict(type='LoadLocalizationFeature', temporal_dim=t,
                         feat_dim=getattr(model, 'feat_dim', None)),
                    dict(type='PackLocalizationInputs', meta_keys=ACTIVITYNET_META)]
    return dict(type='ActivityNetDataset', ann_file='', pipeline=copy.deepcopy(pipeline))


def adapt_test_pipeline(pipeline: Sequence) -> list:
    """The test pipeline for raw input (module docstring): a fixed-``temporal_dim``
    ``LoadLocalizationFeature`` becomes ``LoadLocalizationFeature(temporal_dim=None)`` +
    ``ResizeFeature(temporal_dim)``; feature caching is off (one read per input)."""
    pipeline = [copy.deepcopy(t) for t in pipeline]
    out = []
    for i, t in enumerate(pipeline):
        out.append(t)
        if not (isinstance(t, dict) and _type_name(t) == 'LoadLocalizationFeature'):
            continue
        t['cache'] = False
        steps = t.get('temporal_dim')
        if steps:
            t['temporal_dim'] = None
            following = pipeline[i + 1] if i + 1 < len(pipeline) else None
            if following is None or _type_name(following) != 'ResizeFeature':
                out.append(dict(type='ResizeFeature', num_steps=int(steps)))
    return out


def _to_list(x, dtype=float, shape=(-1, )) -> list:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    return arr.reshape(shape).astype(dtype).tolist()


class LocalizationInferencer(BaseInferencer):
    """Proposals / detections in seconds for feature files, arrays or frame arrays.

    Args:
        model: config file, :class:`Config`, or a model from :func:`~mmloc.apis.init_localizer`
            (it carries its config as ``model.cfg``).
        weights: checkpoint (mmloc or MMAction2 0.x / 1.x), loaded strictly; None keeps
            random weights.
        device: ``'cpu'``, ``'cuda'``, ...; None: mmengine's default device (a given model
            stays where it is).
        next_stage: for a model that states ``chain_link``: the next stage as ``(config,
            checkpoint)`` (or a :class:`LocalizationInferencer`), e.g. BSN's PEM after TEM.
        link_cfg: settings of the chain link (BSN: the PGM config).
        cfg_options: overrides of the config (``{'model.post_process_top_k': 200}``).
        show_progress: a progress bar over the videos of long input lists, on a terminal.
        extractor: an extractor config (``configs/extractors/*.py``): video files
            (``.mp4``, ...) given as input are decoded and embedded first
            (:mod:`mmloc.apis.video_inference`); ``extractor_checkpoint`` its weights,
            ``extractor_random_init`` allows random ones (tests).

    Inputs of ``__call__``: one item or a list. An item is a file path, an array (time first:
    (L, C) features, (T, H, W, C) frames; tensors are converted), or a dict ``dict(input=...,
    video_name=..., duration_s=..., fps=..., frames_per_snippet=..., **fields)`` where
    ``fields`` override what the adapter would give (e.g. ``duration_frame`` of an ActivityNet
    record). A folder stands for its feature files. Keyword ``duration_s``, ``fps``,
    ``frames_per_snippet`` are defaults for items that do not give them.

    Returns ``{'predictions': [per video {'video_name', 'segments': [[start_s, end_s], ...],
    'scores': [...], ('labels': [...] 0-based class ids)}], ('data_samples': [...] with
    return_datasamples=True)}``, each video sorted by score as the model gives them.
    """

    preprocess_kwargs: set = {'duration_s', 'fps', 'frames_per_snippet'}
    forward_kwargs: set = set()
    visualize_kwargs: set = set()
    postprocess_kwargs: set = set()

    def __init__(self, model: Union[str, os.PathLike, Config, nn.Module],
                 weights: Optional[str] = None, device: Optional[str] = None,
                 next_stage=None, link_cfg=None, cfg_options: Optional[dict] = None,
                 show_progress: bool = True, extractor=None,
                 extractor_checkpoint: Optional[str] = None,
                 extractor_random_init: bool = False) -> None:
        register_all_modules()
        self._prebuilt = None
        if isinstance(model, nn.Module):
            if weights is not None:
                raise ValueError('LocalizationInferencer: a built model comes with its weights; '
                                 'give weights only with a config')
            if getattr(model, 'cfg', None) is None:
                raise ValueError(f'{type(model).__name__}: the model has no .cfg; build it with '
                                 'mmloc.apis.init_localizer or give the config')
            self._prebuilt = model
            cfg = copy.deepcopy(model.cfg)
            if device is None:
                param = next(model.parameters(), None)
                device = str(param.device) if param is not None else 'cpu'
        elif isinstance(model, (str, os.PathLike)):
            cfg = Config.fromfile(os.fspath(model))
        elif isinstance(model, (Config, ConfigDict, dict)):
            cfg = copy.deepcopy(model) if isinstance(model, Config) else Config(model)
        else:
            raise TypeError(f'LocalizationInferencer: model must be a config or a model, got '
                            f'{type(model).__name__}')
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        super().__init__(cfg, weights=weights, device=device, scope='mmloc',
                         show_progress=show_progress)
        self.next_stage = None
        self.link = None
        self.extractor = None
        self.last_sidecars: dict = {}
        if extractor is not None:
            from .extraction import FeatureExtractor
            self.extractor = FeatureExtractor(
                extractor, extractor_checkpoint, random_init=extractor_random_init,
                device=str(next(self.model.parameters()).device))
        if next_stage is not None:
            self._init_chain(next_stage, link_cfg, device)

    # ------------------------------------------------------------------ building
    def _init_model(self, cfg, weights, device='cpu') -> nn.Module:
        if self._prebuilt is not None:
            return self._prebuilt
        return build_localizer(cfg, weights, device)

    def _init_pipeline(self, cfg):
        from mmloc.registry import DATASETS
        ds_cfg = find_test_dataset_cfg(cfg)
        if ds_cfg is None:
            ds_cfg = default_dataset_cfg(cfg, self.model)
        ds_cfg = dict(ds_cfg)
        ds_cfg['pipeline'] = adapt_test_pipeline(ds_cfg.get('pipeline') or [])
        ds_cfg.pop('lazy_init', None)
        # built lazily: the dataset class builds its own pipeline (and any transform it adds,
        # e.g. FeatureDataset's fit transform) but reads no annotation
        self.dataset = DATASETS.build(dict(ds_cfg, lazy_init=True))
        self.adapter = build_adapter(_type_name(ds_cfg), self.dataset, self.model, ds_cfg)
        return self.dataset.pipeline

    def _init_collate(self, cfg):
        """The test dataloader's ``collate_fn`` as the Runner builds it (pseudo_collate by
        default)."""
        import mmengine.dataset  # noqa: F401 (registers pseudo_collate)
        from mmengine.registry import FUNCTIONS
        loader = cfg.get('test_dataloader') or {}
        collate = copy.deepcopy(dict(loader.get('collate_fn') or dict(type='pseudo_collate')))
        fn = collate.pop('type')
        if isinstance(fn, str):
            fn = FUNCTIONS.get(fn)
        return partial(fn, **collate)

    def _init_visualizer(self, cfg):
        return None

    def _init_chain(self, next_stage, link_cfg, device) -> None:
        name = getattr(self.model, 'chain_link', None)
        if name is None:
            raise ValueError(f'{type(self.model).__name__}: the model states no chain_link (its '
                             'predictions are final); next_stage is for the first stage of a '
                             'multi-stage method, such as BSN TEM -> PEM')
        if isinstance(next_stage, LocalizationInferencer):
            self.next_stage = next_stage
        else:
            cfg, weights = (tuple(next_stage) + (None, ))[:2] \
                if isinstance(next_stage, (tuple, list)) else (next_stage, None)
            self.next_stage = LocalizationInferencer(cfg, weights, device=device,
                                                     show_progress=False)
        self.link = build_chain_link(name, link_cfg)

    @property
    def classes(self):
        """Class names of the predicted labels (when the dataset config gives them)."""
        stage = self
        while stage.next_stage is not None:
            stage = stage.next_stage
        return stage.adapter.classes

    # ------------------------------------------------------------------ inputs
    def _inputs_to_list(self, inputs) -> List[RawVideo]:
        from mmloc.video import VIDEO_EXTS
        if isinstance(inputs, (str, os.PathLike)) and osp.isdir(inputs):
            folder = os.fspath(inputs)
            exts = FEATURE_EXTS + (VIDEO_EXTS if self.extractor is not None else ())
            inputs = sorted(osp.join(folder, f) for f in os.listdir(folder)
                            if f.lower().endswith(exts))
            if not inputs:
                raise ValueError(f'{folder}: the folder holds no feature file '
                                 f'({", ".join(FEATURE_EXTS)})')
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        return [self._from_video_file(item) if self._is_video_file(item) else
                self._video(item, i) for i, item in enumerate(inputs)]

    @staticmethod
    def _is_video_file(item) -> bool:
        from mmloc.video import VIDEO_EXTS
        return isinstance(item, (str, os.PathLike)) and \
            os.fspath(item).lower().endswith(VIDEO_EXTS)

    def _from_video_file(self, path) -> RawVideo:
        """A video file: features from the extractor, fitted to the config's dataset type."""
        from .video_inference import features_to_raw_video
        if self.extractor is None:
            raise ValueError(f'{os.fspath(path)}: a video file needs a feature extractor '
                             '(extractor=configs/extractors/...; tools/infer.py --extractor)')
        features, sidecar = self.extractor.extract(path)
        self.last_sidecars[os.fspath(path)] = sidecar
        return features_to_raw_video(self.adapter, features, sidecar,
                                     osp.splitext(osp.basename(os.fspath(path)))[0])

    @staticmethod
    def _video(item, index: int) -> RawVideo:
        if isinstance(item, RawVideo):
            return item
        fields = {}
        if isinstance(item, dict):
            if 'input' not in item:
                raise ValueError(f'input {index}: a video given as a dict needs "input" (a '
                                 f'file, an array or {{modality: file}}), got keys {sorted(item)}')
            fields = dict(item)
            item = fields.pop('input')
        if isinstance(item, torch.Tensor):
            item = item.detach().cpu().numpy()
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if isinstance(item, str):
            default_name = osp.splitext(osp.basename(item))[0]
        else:
            default_name = f'video_{index}'
        return RawVideo(source=item, video_name=fields.pop('video_name', None) or default_name,
                        duration_s=fields.pop('duration_s', None), fps=fields.pop('fps', None),
                        frames_per_step=fields.pop('frames_per_snippet', None), meta=fields)

    def preprocess(self, inputs: List[RawVideo], batch_size: int = 1,
                   duration_s: Optional[float] = None, fps: Optional[float] = None,
                   frames_per_snippet: Optional[float] = None, **kwargs):
        """Yields ``dict(videos, data)``: each batch's videos (with the defaults filled in)
        and the collated output of the test pipeline."""
        def prepare(video: RawVideo):
            video = RawVideo(
                source=video.source, video_name=video.video_name,
                duration_s=video.duration_s if video.duration_s is not None else duration_s,
                fps=video.fps if video.fps is not None else fps,
                frames_per_step=video.frames_per_step or frames_per_snippet, meta=video.meta)
            return video, self._pipeline_output(self, video)

        for chunk in self._get_chunk_data(map(prepare, inputs), batch_size):
            yield dict(videos=[v for v, _ in chunk], data=self.collate_fn([d for _, d in chunk]))

    @staticmethod
    def _pipeline_output(stage: 'LocalizationInferencer', video: RawVideo, extra=None):
        results = stage.adapter.results(video)
        if extra:
            results.update(extra)
        data = stage.pipeline(results)
        if data is None:
            raise ValueError(f'{video.label}: the test pipeline dropped the video')
        return data

    # ------------------------------------------------------------------ running
    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """``test_step`` of the batch; for a chain, the link and the next stage's test step."""
        samples = self.model.test_step(inputs['data'])
        for sample, video in zip(samples, inputs['videos']):
            if 'video_name' not in sample.metainfo:
                sample.set_metainfo(dict(video_name=video.video_name))
        if self.next_stage is None:
            return samples
        stage = self.next_stage
        data = [self._pipeline_output(stage, video, extra)
                for video, extra in zip(inputs['videos'], self.link(samples))]
        return stage.forward(dict(videos=inputs['videos'], data=stage.collate_fn(data)))

    def __call__(self, inputs, return_datasamples: bool = False, batch_size: int = 1,
                 **kwargs) -> dict:
        preprocess_kwargs, forward_kwargs, _, postprocess_kwargs = \
            self._dispatch_kwargs(**kwargs)
        videos = self._inputs_to_list(inputs)
        # a bar only on a terminal: redirected to a file, '\r' updates would flood it
        bar = ProgressBar(len(videos)) if (self.show_progress and len(videos) > batch_size
                                           and sys.stdout.isatty()) else None
        preds = []
        for batch in self.preprocess(videos, batch_size=batch_size, **preprocess_kwargs):
            out = self.forward(batch, **forward_kwargs)
            preds.extend(out)
            for _ in range(len(out) if bar is not None else 0):
                bar.update()
        if bar is not None:
            bar.file.write('\n')
            bar.file.flush()
        return self.postprocess(preds, None, return_datasamples, **postprocess_kwargs)

    def visualize(self, inputs, preds, show: bool = False, **kwargs):
        return None

    def postprocess(self, preds, visualization=None, return_datasample: bool = False,
                    **kwargs) -> dict:
        predictions = []
        for sample in preds:
            if 'pred_instances' not in sample:
                if return_datasample:
                    predictions.append(None)
                    continue
                raise TypeError(self._no_proposals_message())
            predictions.append(self.pred_to_dict(sample))
        out = dict(predictions=predictions)
        if return_datasample:
            out['data_samples'] = list(preds)
        return out

    @staticmethod
    def pred_to_dict(sample) -> dict:
        """``{'video_name', 'segments', 'scores', ('labels')}`` of one data sample."""
        pred = sample.pred_instances
        out = dict(video_name=sample.metainfo.get('video_name'),
                   segments=_to_list(pred.segments, shape=(-1, 2)),
                   scores=_to_list(pred.scores))
        if 'labels' in pred:
            out['labels'] = _to_list(pred.labels, int)
        return out

    def _no_proposals_message(self) -> str:
        name = type(self.model).__name__
        msg = (f'{name}: predict() gives no proposals (pred_instances); the inferencer '
               'returns the predictions of proposal and detection models')
        link = getattr(self.model, 'chain_link', None)
        if link is not None:
            msg += (f'. Its predictions feed the chain link {link!r}: give the next stage '
                    '(next_stage=(config, checkpoint), link_cfg=...; tools/infer.py: '
                    '--next-config, --next-checkpoint, --link-config)')
        return msg
