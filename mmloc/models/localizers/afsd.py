"""AFSD localizer: mmengine wrapper over ``mmloc.models.afsd`` (spec: afsd-spec.md).

``loss``: a batch of training windows (``AFSDLoss``). ``predict``: whole videos; the model
slides its own test windows (``SlidingWindowInference``, stride ``test_cfg.clip_stride``),
decodes and collects each, then merges all windows of the video and runs AFSD's per-class
Gaussian Soft-NMS (spec §5). Predictions are in seconds with 0-based class labels
(``dataset classes[label]``).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmloc.models.afsd.inference import (average_raw_outputs, collect_detections,
                                         decode_window, merge_video_detections)
from mmloc.models.afsd.original_checkpoint import convert_original_afsd_state_dict
from mmloc.models.task_modules.sliding_window import SlidingWindowInference
from mmloc.models.data_preprocessor import data_preprocessor_or_default
from mmloc.registry import MODELS
from mmloc.structures import TimeGrid

#: ``windows_per_batch``: test windows per forward pass. 1 is what the original ``test.py`` does
#: and gives its results exactly; more is faster, but CPU convolutions round differently for
#: another batch size (float noise), which can move a candidate across the 0.01 / 0.001 score
#: floors (docs/afsd.md, "Windows per forward pass").
DEFAULT_TEST_CFG = dict(clip_stride=128, conf_thresh=0.01, nms_sigma=0.5, top_k=5000,
                        score_threshold=0.001, pad_value=0.0, windows_per_batch=1)


@MODELS.register_module()
class AFSD(BaseModel):
    """Anchor-free saliency-based detector.

    Args:
        net: ``AFSDNet`` config (``backbone`` / ``neck`` / ``head``).
        fusion_net: optional second ``AFSDNet`` (the flow stream); when given, ``predict``
            averages the raw outputs of both nets before decoding (spec §5.3) and ``inputs``
            must carry both modalities (``fusion_channels`` splits them).
        fusion_channels: input channels of ``net`` when fusing (3 for RGB).
        loss: ``AFSDLoss`` config (default ``dict(type='AFSDLoss')``: ``lw=10, cw=1,
            piou=0.5, ssl=0.1``, the authors' README values for THUMOS).
        lw, cw, piou, ssl, focal_alpha, focal_gamma: loss weights of the spec (§3.4); when
            given they override those of ``loss`` (configs written before ``AFSDLoss``).
        normalize_frames: map uint8 frames to ``x/255·2-1`` inside the model.
        test_cfg: overrides of ``DEFAULT_TEST_CFG`` (stride, thresholds, Soft-NMS,
            ``windows_per_batch``; ``batch_size`` is its older spelling).
    """

    def __init__(self, net: dict, fusion_net: Optional[dict] = None, fusion_channels: int = 3,
                 loss: Optional[dict] = None, lw: Optional[float] = None,
                 cw: Optional[float] = None, piou: Optional[float] = None,
                 ssl: Optional[float] = None, focal_alpha: Optional[float] = None,
                 focal_gamma: Optional[float] = None, normalize_frames: bool = True,
                 test_cfg: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor_or_default(data_preprocessor),
                         init_cfg=init_cfg)
        self.net = MODELS.build(net)
        self.fusion_net = MODELS.build(fusion_net) if fusion_net is not None else None
        self.fusion_channels = fusion_channels
        loss_cfg = dict(dict(type='AFSDLoss'), **(loss or {}))
        given = dict(lw=lw, cw=cw, piou=piou, ssl=ssl, focal_alpha=focal_alpha,
                     focal_gamma=focal_gamma)
        loss_cfg.update({k: v for k, v in given.items() if v is not None})
        self.loss_module = MODELS.build(loss_cfg)
        self.normalize_frames = normalize_frames
        self.test_cfg = dict(DEFAULT_TEST_CFG, **self._renamed_test_cfg(test_cfg or {}))
        if int(self.test_cfg['windows_per_batch']) < 1:
            raise ValueError(f'AFSD: test_cfg.windows_per_batch must be >= 1, got '
                             f'{self.test_cfg["windows_per_batch"]}')
        self.clip_length = self.net.clip_length
        self.num_classes = self.net.num_classes
        self._register_load_state_dict_pre_hook(self._load_original_checkpoint)

    @staticmethod
    def _renamed_test_cfg(test_cfg: dict) -> dict:
        # ``batch_size`` (windows per forward) was renamed: the test dataloader's batch_size
        # counts videos, and each video is windowed on its own.
        test_cfg = dict(test_cfg)
        if 'batch_size' in test_cfg:
            old = test_cfg.pop('batch_size')
            if test_cfg.setdefault('windows_per_batch', old) != old:
                raise ValueError(f'AFSD: test_cfg gives batch_size={old} and windows_per_batch='
                                 f'{test_cfg["windows_per_batch"]}; batch_size is the older '
                                 f'name of windows_per_batch, give one')
        return test_cfg

    @staticmethod
    def _load_original_checkpoint(state_dict, prefix, *args):
        # A checkpoint of the official release (``checkpoint-<epoch>.ckpt``, a bare ``BDNet``
        # state dict) is one single-stream network: ours is ``net``. A fusion model needs
        # both streams: merge them with tools/misc/merge_afsd_fusion_checkpoint.py.
        convert_original_afsd_state_dict(state_dict, prefix, target='net.')

    # ----------------------------------------------------------------- helpers
    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.uint8 and self.normalize_frames:
            return x.float() / 255.0 * 2.0 - 1.0
        return x.float()

    @staticmethod
    def _stack(inputs: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        return inputs if isinstance(inputs, torch.Tensor) else torch.stack(list(inputs))

    def _raw(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        if self.fusion_net is None:
            return self.net(x)
        c = self.fusion_channels
        return average_raw_outputs(self.net(x[:, :c]), self.fusion_net(x[:, c:]))

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._raw(self._prepare(self._stack(inputs)))
        raise RuntimeError(f'AFSD: invalid mode "{mode}"; expected loss, predict or tensor')

    def export_spec(self):
        """ONNX export of one test window: ``clip`` (B, C, L, crop, crop) frames normalised to
        [-1, 1] (or ``features`` (B, C, L/4) for the feature variant) -> the raw outputs that
        ``decode_window`` needs: ``loc``, ``prop_loc`` (B, K, 2), ``conf``, ``prop_conf``
        (B, K, classes), ``center`` (B, K, 1). The batch axis is dynamic; ``priors`` (K,) is
        a constant (ONNX metadata). Windowing, decoding, Soft-NMS stay in Python."""
        from mmloc.models.afsd.inference import RAW_KEYS
        from ..export import ExportSpec, TensorModeGraph, TensorSpec
        nets = [self.net] + ([self.fusion_net] if self.fusion_net is not None else [])
        if self.net.backbone is None:
            channels = sum(n.neck.level0.conv.conv1d.in_channels for n in nets)
            x = TensorSpec('features', ('batch', channels, self.clip_length // 4))
        else:
            convs = [next(m for m in n.backbone.modules() if isinstance(m, torch.nn.Conv3d))
                     for n in nets]
            crop = self.net.neck.c4_spatial * 16
            x = TensorSpec('clip', ('batch', sum(c.in_channels for c in convs),
                                    self.clip_length, crop, crop), low=-1.0, high=1.0)
        return ExportSpec(
            graph=TensorModeGraph(self, RAW_KEYS), inputs=(x, ), output_names=RAW_KEYS,
            output_dynamic_axes={k: {0: 'batch'} for k in RAW_KEYS},
            constants={'priors': self.net.priors.detach().cpu()},
            notes='sliding windows, decode_window, Soft-NMS stay in Python; boundary max '
                  'pooling is exported (Where + ReduceMax)')

    # -------------------------------------------------------------------- loss
    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        if self.fusion_net is not None:
            raise ValueError('AFSD with fusion_net is test-only: train each stream with its own '
                             'config and merge them with '
                             'tools/misc/merge_afsd_fusion_checkpoint.py')
        x = self._prepare(self._stack(inputs))
        out = self.net(x)
        gt = [ds.gt_instances for ds in data_samples]
        losses = self.loss_module(
            out, [g.segments for g in gt], [g.labels for g in gt],
            torch.stack([ds.start_labels for ds in data_samples]).to(x.device),
            torch.stack([ds.end_labels for ds in data_samples]).to(x.device),
            self.clip_length)
        flagged = [ds for ds in data_samples if 'ssl_inputs' in ds]
        if self.loss_module.ssl > 0 and flagged:
            # The original runs one batch-1 pass per augmented clip; one batched pass gives the
            # same maps (GroupNorm is per sample, backbone BN frozen) at a fraction of the cost.
            ssl_x = self._prepare(torch.stack([ds.ssl_inputs for ds in flagged]).to(x.device))
            maps = self.net.forward_boundary_maps(ssl_x)
            losses['loss_contrastive'] = self.loss_module.contrastive(
                maps, [ds.ssl_segments.to(x.device) for ds in flagged])
        return losses

    # ----------------------------------------------------------------- predict
    @torch.no_grad()
    def predict(self, inputs, data_samples) -> list:
        """Whole-video inference; fills ``pred_instances`` (seconds, scores, 0-based labels).

        Each video is windowed and run on its own, so ``test_dataloader.batch_size`` (videos
        per call) does not change any result; ``test_cfg.windows_per_batch`` (windows per
        forward pass) can, at float-rounding level (1 = the original's).
        """
        for video, sample in zip(inputs, data_samples):
            segs, scores, labels = self.predict_video(video, sample.metainfo)
            sample.pred_instances = InstanceData(
                segments=torch.from_numpy(segs).float(), scores=torch.from_numpy(scores).float(),
                labels=torch.from_numpy(labels - 1))
        return data_samples

    @torch.no_grad()
    def collect_windows(self, video: torch.Tensor, meta: dict) -> list:
        """Slide the test windows over one video, decode and collect each.

        Args:
            video: ``(C, T, H, W)`` uint8 frames or ``(C, T_f)`` features of the whole video.
            meta: ``sample_fps`` (10), optional ``feature_stride`` (frames per input step).

        Returns:
            per window ``(segments_s (D, 2), scores (D,), labels (D,) 1-based)``.
        """
        cfg = self.test_cfg
        step = int(meta.get('feature_stride', 1))
        slider = SlidingWindowInference(self.clip_length, cfg['clip_stride'],
                                        int(cfg['windows_per_batch']), cfg['pad_value'], step)
        # frames of the video at sample_fps; a window's grid is cropped at its start
        frames = TimeGrid.from_fps(float(meta.get('sample_fps', 10.0)),
                                   num_frames=video.shape[1] * step)

        def collect(out, b, offset):
            segs, scores = decode_window(out['loc'][b], out['conf'][b], out['prop_loc'][b],
                                         out['prop_conf'][b], out['center'][b], out['priors'],
                                         self.clip_length)
            return collect_detections(segs.cpu().numpy(), scores.cpu().numpy(),
                                      frames.cropped(offset, self.clip_length),
                                      cfg['conf_thresh'])

        return slider(video, self._raw, collect, prepare=self._prepare,
                      device=self.net.priors.device)

    def predict_video(self, video: torch.Tensor, meta: dict):
        """Slide, decode, collect (:meth:`collect_windows`), merge, Soft-NMS one video.

        Returns:
            segments (P, 2) seconds, scores (P,), labels (P,) 1-based, score-descending.
        """
        cfg = self.test_cfg
        return merge_video_detections(self.collect_windows(video, meta), self.num_classes,
                                      cfg['nms_sigma'], cfg['top_k'], cfg['score_threshold'])
