"""FROZEN copy of the AFSD code before the shared-parts redesign (do not edit).

Copied at commit e7182da from ``mmloc/models/afsd/net.py`` (``AFSDNet`` as
``LegacyAFSDNet``, with its pyramids and proposal branch), ``mmloc/models/localizers/afsd.py``
(``AFSD.predict_video``, ``_prepare``, ``_raw``, the loss), ``mmloc/models/afsd/inference.py``
(``decode_window``, ``collect_detections``), ``mmloc/datasets/thumos_afsd_dataset.py``
(``load_data_list``) and ``mmloc/datasets/transforms/afsd_transforms.py``
(``AFSDBoundaryLabels``, ``AFSDContrastiveClip``, ``PackAFSDInputs``). The bit-identity tests
(``tests/afsd/test_afsd_legacy_parity.py``) run them next to the current code. Pure helpers
that the redesign does not touch (layers, boundary pooling, targets, windows, CSV readers,
the loss functions, Soft-NMS and window merging) are imported.
"""

from __future__ import annotations

from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from mmloc.models.afsd.boundary_pooling import boundary_max_pooling, frame_regions, level_regions
from mmloc.models.afsd.layers import ConvGNReLU1d, ScaleExp, Unit1D, glorot_uniform_
from mmloc.models.afsd.targets import make_priors


class FramePyramid(nn.Module):
    """Levels from the backbone's C4 (level 0, ``T/4``) and C5 (level 1, ``T/8``), then
    stride-2 ``Unit1D`` levels; level 0 += nearest-upsampled level 1 (spec §2.2).

    The level-0/1 kernels span the whole C4/C5 spatial map (``crop/16``, ``crop/32``), so the
    crop size is fixed at build time.
    """

    def __init__(self, c4_channels: int, c5_channels: int, c4_spatial: int, c5_spatial: int,
                 width: int = 512, num_levels: int = 6, gn_groups: int = 32):
        super().__init__()
        if num_levels < 2:
            raise ValueError(f'FramePyramid: num_levels must be >= 2, got {num_levels}')
        self.c4_spatial, self.c5_spatial = c4_spatial, c5_spatial
        self.level0 = nn.Conv3d(c4_channels, width, (1, c4_spatial, c4_spatial))
        self.level0_gn = nn.GroupNorm(gn_groups, width)
        self.level1 = nn.Conv3d(c5_channels, width, (1, c5_spatial, c5_spatial))
        self.level1_gn = nn.GroupNorm(gn_groups, width)
        self.down = nn.ModuleList(ConvGNReLU1d(width, width, 3, 2, gn_groups)
                                  for _ in range(num_levels - 2))

    def _squeeze(self, conv, gn, x, expected):
        if x.shape[-1] != expected or x.shape[-2] != expected:
            raise ValueError(f'FramePyramid: expected a backbone map of spatial size '
                             f'{expected}x{expected} (crop = 16 x C4 size), got {tuple(x.shape)}')
        return F.relu(gn(conv(x).flatten(2)))

    def forward(self, feats: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        x0 = self._squeeze(self.level0, self.level0_gn, feats['Mixed_4f'], self.c4_spatial)
        x1 = self._squeeze(self.level1, self.level1_gn, feats['Mixed_5c'], self.c5_spatial)
        levels = [x0, x1]
        x = x1
        for layer in self.down:
            x = layer(x)
            levels.append(x)
        # Plain sum, no activation after it; nearest repeats each level-1 value twice.
        levels[0] = x0 + F.interpolate(x1, size=x0.shape[-1], mode='nearest')
        return levels


class FeaturePyramid(nn.Module):
    """Feature-input variant: snippet features ``(B, C_in, L/4)`` -> level 0 by a k1 conv,
    then stride-2 ``Unit1D`` levels (no backbone, no C4/C5 fusion)."""

    def __init__(self, in_channels: int, width: int = 512, num_levels: int = 6,
                 gn_groups: int = 32):
        super().__init__()
        self.level0 = ConvGNReLU1d(in_channels, width, 1, 1, gn_groups)
        self.down = nn.ModuleList(ConvGNReLU1d(width, width, 3, 2, gn_groups)
                                  for _ in range(num_levels - 1))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        x = self.level0(x)
        levels = [x]
        for layer in self.down:
            x = layer(x)
            levels.append(x)
        return levels


class ProposalBranch(nn.Module):
    """Boundary-pooled refinement features (spec §4.3); returns ``(out, E)``."""

    def __init__(self, width: int, gn_groups: int):
        super().__init__()
        self.cur_point_conv = ConvGNReLU1d(width, width, 1, 1, gn_groups)
        self.lr_conv = ConvGNReLU1d(width, 2 * width, 1, 1, gn_groups)
        self.boundary_conv = ConvGNReLU1d(width, width, 1, 1, gn_groups)
        self.roi_conv = ConvGNReLU1d(4 * width, width, 1, 1, gn_groups)

    def forward(self, feature, frame_feature, segments, frame_segments):
        point = self.cur_point_conv(feature)
        boundary_map = self.lr_conv(feature)  # E: start half | end half
        pooled = boundary_max_pooling(boundary_map, segments)
        roi = self.boundary_conv(boundary_max_pooling(frame_feature, frame_segments))
        out = self.roi_conv(torch.cat([roi, pooled, point], dim=1))  # order R, A, P
        return out, boundary_map


class LegacyAFSDNet(nn.Module):
    """AFSD network (THUMOS variant).

    Args:
        num_classes: including background (THUMOS14: 21).
        clip_length: ``L``, frames per window.
        backbone: config of a backbone returning ``{'Mixed_4f', 'Mixed_5c'}`` maps
            (``InceptionI3d``, ``TinyVideoBackbone``), or ``None`` for feature input.
        feature_channels: input channels of the feature variant (``backbone=None``).
        crop_size: spatial crop (96 for I3D) fixing the level-0/1 kernels.
        width: pyramid width = ``proposal_channels``.
        num_levels: pyramid levels (6 in the paper).
        gn_groups: GroupNorm groups.
        freeze_bn: keep every backbone BatchNorm in eval mode with frozen affine parameters.

    Input: frames ``(B, C, L, crop, crop)`` in [-1, 1], or features ``(B, C_in, L/4)``.
    """

    def __init__(self, num_classes: int = 21, clip_length: int = 256,
                 backbone: Optional[dict] = None, feature_channels: int = 2048,
                 crop_size: int = 96, width: int = 512, num_levels: int = 6,
                 gn_groups: int = 32, freeze_bn: bool = True):
        super().__init__()
        if clip_length % 2 ** (num_levels + 1):
            raise ValueError(f'AFSDNet: clip_length {clip_length} must be divisible by '
                             f'2**(num_levels+1) = {2 ** (num_levels + 1)}')
        if width % 2 or width % gn_groups:
            raise ValueError(f'AFSDNet: width {width} must be even and divisible by '
                             f'gn_groups {gn_groups}')
        self.num_classes = num_classes
        self.clip_length = clip_length
        self.num_levels = num_levels
        self.width = width
        self.freeze_bn = freeze_bn
        self.level_lengths = [clip_length // 2 ** (i + 2) for i in range(num_levels)]
        if backbone is not None:
            from mmloc.registry import MODELS
            self.backbone = MODELS.build(backbone)
            if crop_size % 32:
                raise ValueError(f'AFSDNet: crop_size {crop_size} must be a multiple of 32')
            self.neck = FramePyramid(self.backbone.c4_channels, self.backbone.c5_channels,
                                     crop_size // 16, crop_size // 32, width, num_levels,
                                     gn_groups)
        else:
            self.backbone = None
            self.neck = FeaturePyramid(feature_channels, width, num_levels, gn_groups)
        self.frame_layers = nn.Sequential(ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                          ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                          ConvGNReLU1d(width, width, 1, 1, gn_groups))
        self.loc_tower = nn.Sequential(ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                       ConvGNReLU1d(width, width, 3, 1, gn_groups))
        self.conf_tower = nn.Sequential(ConvGNReLU1d(width, width, 3, 1, gn_groups),
                                        ConvGNReLU1d(width, width, 3, 1, gn_groups))
        self.loc_head = Unit1D(width, 2, 3)
        self.conf_head = Unit1D(width, num_classes, 3)
        self.loc_proposal_branch = ProposalBranch(width, gn_groups)
        self.conf_proposal_branch = ProposalBranch(width, gn_groups)
        self.prop_loc_head = Unit1D(width, 2, 1)
        self.prop_conf_head = Unit1D(width, num_classes, 1)
        self.center_head = Unit1D(width, 1, 3)
        self.scales = nn.ModuleList(ScaleExp() for _ in range(num_levels))
        for name, module in self.named_children():
            if name != 'backbone':  # the original initialises the head before the backbone exists
                glorot_uniform_(module)
        self.register_buffer('priors', make_priors(self.level_lengths), persistent=False)
        if self.backbone is not None and freeze_bn:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    for p in m.parameters():
                        p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.freeze_bn and self.backbone is not None:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def _pyramid(self, x: torch.Tensor):
        levels = self.neck(self.backbone(x) if self.backbone is not None else x)
        if [lv.shape[-1] for lv in levels] != self.level_lengths:
            raise ValueError(f'AFSDNet: pyramid lengths {[lv.shape[-1] for lv in levels]} != '
                             f'expected {self.level_lengths} for clip_length {self.clip_length}')
        frame = F.interpolate(levels[0], size=self.clip_length, mode='nearest')
        return levels, self.frame_layers(frame)

    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Raw outputs.

        Returns:
            dict with ``loc`` (B,K,2) frames, ``conf`` (B,K,nc) logits, ``prop_loc`` (B,K,2),
            ``prop_conf`` (B,K,nc), ``center`` (B,K,1) logit, ``priors`` (K,) normalised,
            ``start``/``end`` (B,L,W/2) halves of ``G``, and the level-0 boundary maps
            ``start_loc_prop``/``end_loc_prop``/``start_conf_prop``/``end_conf_prop`` (B,t0,W).
        """
        levels, frame_feat = self._pyramid(x)
        out = {k: [] for k in ('loc', 'conf', 'prop_loc', 'prop_conf', 'center')}
        level0_maps = None
        for i, feat in enumerate(levels):
            loc_feat = self.loc_tower(feat)
            conf_feat = self.conf_tower(feat)
            loc = self.scales[i](self.loc_head(loc_feat)).transpose(1, 2)  # (B, t, 2)
            conf = self.conf_head(conf_feat).transpose(1, 2)
            with torch.no_grad():
                segs = level_regions(loc, self.clip_length)
                fsegs = frame_regions(loc, self.clip_length)
            loc_out, e_loc = self.loc_proposal_branch(loc_feat, frame_feat, segs, fsegs)
            conf_out, e_conf = self.conf_proposal_branch(conf_feat, frame_feat, segs, fsegs)
            if i == 0:
                level0_maps = (e_loc, e_conf)
            out['loc'].append(loc)
            out['conf'].append(conf)
            out['prop_loc'].append(self.prop_loc_head(loc_out).transpose(1, 2))
            out['prop_conf'].append(self.prop_conf_head(conf_out).transpose(1, 2))
            out['center'].append(self.center_head(loc_out).transpose(1, 2))
        result = {k: torch.cat(v, dim=1) for k, v in out.items()}
        result['priors'] = self.priors
        w = self.width
        result['start'] = frame_feat[:, :w // 2].transpose(1, 2)
        result['end'] = frame_feat[:, w // 2:].transpose(1, 2)
        e_loc, e_conf = level0_maps
        result['start_loc_prop'] = e_loc[:, :w].transpose(1, 2)
        result['end_loc_prop'] = e_loc[:, w:].transpose(1, 2)
        result['start_conf_prop'] = e_conf[:, :w].transpose(1, 2)
        result['end_conf_prop'] = e_conf[:, w:].transpose(1, 2)
        return result

    def forward_boundary_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Contrastive pass (spec §4.7): ``[G (B,W,L), E_loc (B,2W,t0), E_conf (B,2W,t0)]``."""
        levels, frame_feat = self._pyramid(x)
        e_loc = self.loc_proposal_branch.lr_conv(self.loc_tower(levels[0]))
        e_conf = self.conf_proposal_branch.lr_conv(self.conf_tower(levels[0]))
        return [frame_feat, e_loc, e_conf]


# --------------------------------------------------------------------------- localizer
import os.path as osp  # noqa: E402

import numpy as np  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from mmloc.datasets.thumos_afsd_dataset import (read_annotations, read_class_index,  # noqa: E402
                                                read_video_info)
from mmloc.datasets.transforms.afsd_windows import (boundary_labels,  # noqa: E402
                                                    contrastive_clip, split_training_windows)
from mmloc.models.afsd.inference import average_raw_outputs, merge_video_detections  # noqa: E402
from mmloc.models.afsd.criterion import afsd_losses, contrastive_loss  # noqa: E402
from mmloc.models.afsd.targets import decode_refined  # noqa: E402
from mmloc.structures import LocalizationDataSample  # noqa: E402
from mmloc.structures.windows import window_offsets  # noqa: E402

LEGACY_TEST_CFG = dict(clip_stride=128, conf_thresh=0.01, nms_sigma=0.5, top_k=5000,
                       score_threshold=0.001, pad_value=0.0, batch_size=4)


def legacy_decode_window(loc, conf, prop_loc, prop_conf, center, priors, clip_length):
    dist = decode_refined(loc, prop_loc)
    centre = priors * clip_length
    segments = torch.stack([centre - dist[:, 0], centre + dist[:, 1]], dim=1).clamp(0, clip_length)
    scores = 0.5 * (conf.softmax(-1) + prop_conf.softmax(-1)) * center.sigmoid()
    return segments, scores


def legacy_collect_detections(segments, scores, offset_frames, sample_fps, conf_thresh=0.01):
    rows, cols = np.nonzero(scores[:, 1:] > conf_thresh)
    labels = cols + 1
    segs = (segments[rows] + offset_frames) / sample_fps
    return segs.astype(np.float64), scores[rows, labels].astype(np.float64), labels.astype(np.int64)


class LegacyAFSD:
    """The pre-redesign ``AFSD`` localizer logic over a ``LegacyAFSDNet`` (and an optional
    fusion net): ``_prepare``, ``_raw``, ``loss`` and ``predict_video`` as they were."""

    def __init__(self, net, fusion_net=None, fusion_channels=3, lw=10.0, cw=1.0, piou=0.5,
                 ssl=0.1, focal_alpha=0.25, focal_gamma=2.0, normalize_frames=True,
                 test_cfg=None):
        self.net, self.fusion_net, self.fusion_channels = net, fusion_net, fusion_channels
        self.lw, self.cw, self.piou, self.ssl = lw, cw, piou, ssl
        self.focal_alpha, self.focal_gamma = focal_alpha, focal_gamma
        self.normalize_frames = normalize_frames
        self.test_cfg = dict(LEGACY_TEST_CFG, **(test_cfg or {}))
        self.clip_length = net.clip_length
        self.num_classes = net.num_classes

    def _prepare(self, x):
        if x.dtype == torch.uint8 and self.normalize_frames:
            return x.float() / 255.0 * 2.0 - 1.0
        return x.float()

    def _raw(self, x):
        if self.fusion_net is None:
            return self.net(x)
        c = self.fusion_channels
        return average_raw_outputs(self.net(x[:, :c]), self.fusion_net(x[:, c:]))

    def loss(self, inputs, data_samples):
        x = self._prepare(inputs if isinstance(inputs, torch.Tensor) else torch.stack(list(inputs)))
        out = self.net(x)
        gt = [ds.gt_instances for ds in data_samples]
        losses = afsd_losses(
            out, [g.segments for g in gt], [g.labels for g in gt],
            torch.stack([ds.start_labels for ds in data_samples]).to(x.device),
            torch.stack([ds.end_labels for ds in data_samples]).to(x.device),
            self.clip_length, lw=self.lw, cw=self.cw, piou=self.piou,
            focal_alpha=self.focal_alpha, focal_gamma=self.focal_gamma)
        flagged = [ds for ds in data_samples if 'ssl_inputs' in ds]
        if self.ssl > 0 and flagged:
            ssl_x = self._prepare(torch.stack([ds.ssl_inputs for ds in flagged]).to(x.device))
            maps = self.net.forward_boundary_maps(ssl_x)
            terms = [contrastive_loss([m[i:i + 1] for m in maps], ds.ssl_segments.to(x.device))
                     for i, ds in enumerate(flagged)]
            losses['loss_contrastive'] = self.ssl * torch.stack(terms).mean()
        return losses

    @torch.no_grad()
    def windows(self, video, meta):
        """The per-window ``collect_detections`` outputs of ``predict_video``, in order."""
        cfg = self.test_cfg
        step = int(meta.get('feature_stride', 1))
        fps = float(meta.get('sample_fps', 10.0))
        length = self.clip_length // step
        num_steps = video.shape[1]
        offsets = window_offsets(num_steps * step, self.clip_length, cfg['clip_stride'])
        offsets = sorted({o - o % step for o in offsets})
        windows = []
        for i in range(0, len(offsets), cfg['batch_size']):
            chunk = offsets[i:i + cfg['batch_size']]
            clips = []
            for off in chunk:
                clip = self._prepare(video[:, off // step:off // step + length])
                if clip.shape[1] < length:
                    pad = clip.new_full((clip.shape[0], length - clip.shape[1]) +
                                        tuple(clip.shape[2:]), cfg['pad_value'])
                    clip = torch.cat([clip, pad], dim=1)
                clips.append(clip)
            out = self._raw(torch.stack(clips).to(self.net.priors.device))
            for b, off in enumerate(chunk):
                segs, scores = legacy_decode_window(out['loc'][b], out['conf'][b],
                                                    out['prop_loc'][b], out['prop_conf'][b],
                                                    out['center'][b], out['priors'],
                                                    self.clip_length)
                windows.append(legacy_collect_detections(segs.cpu().numpy(),
                                                         scores.cpu().numpy(), off, fps,
                                                         cfg['conf_thresh']))
        return windows

    @torch.no_grad()
    def predict_video(self, video, meta):
        cfg = self.test_cfg
        return merge_video_detections(self.windows(video, meta), self.num_classes,
                                      cfg['nms_sigma'], cfg['top_k'], cfg['score_threshold'])


# --------------------------------------------------------------------------- data
def legacy_load_data_list(ds) -> list:
    """``ThumosAFSDDataset.load_data_list`` as it was, on a built dataset ``ds`` (its file
    paths and options)."""
    classes, to_label = read_class_index(ds.class_index_file)
    info = read_video_info(ds.video_info_file)
    annos = read_annotations(ds.ann_file, info, to_label)
    frame_dir = ds.data_prefix.get('frames', '')
    data_list = []
    for vid, meta in info.items():
        anno = annos.get(vid, dict(frames=np.zeros((0, 3)), seconds=np.zeros((0, 2))))
        common = dict(video_name=vid, frame_path=osp.join(frame_dir, vid + ds.frame_ext),
                      clip_length=ds.clip_length, feature_stride=ds.feature_stride,
                      classes=classes, **meta)
        if ds.modalities is not None:
            paths = {m: osp.join(ds.data_prefix[m], vid + ds.frame_ext) for m in ds.modalities}
            common.update(frame_paths=paths, frame_path=paths[ds.modalities[0]])
        if ds.test_mode:
            annotations = [dict(segment=[float(a), float(b)], label=classes[int(c) - 1])
                           for (a, b), c in zip(anno['seconds'], anno['frames'][:, 2])]
            data_list.append(dict(common, gt_segments_s=anno['seconds'].astype(np.float32),
                                  gt_labels=anno['frames'][:, 2].astype(np.int64),
                                  annotations=annotations))
            continue
        if len(anno['frames']) == 0:
            continue
        windows, th = split_training_windows(meta['sample_count'], anno['frames'],
                                             ds.clip_length, ds.clip_stride)
        for offset, gts in windows:
            delta = offset % ds.feature_stride
            if delta:
                offset -= delta
                gts = gts.copy()
                gts[:, :2] = np.minimum(gts[:, :2] + delta, ds.clip_length)
            data_list.append(dict(common, offset=offset, th=th,
                                  window_gts=gts.astype(np.float32)))
    return data_list


def legacy_boundary_labels(results: dict) -> dict:
    results['start_labels'], results['end_labels'] = boundary_labels(
        results['window_gts'], results['clip_length'])
    return results


def legacy_contrastive_clip(results: dict) -> dict:
    imgs = None
    if results.get('input_type') == 'frames':
        rng = np.random.default_rng(np.random.randint(0, 2 ** 31 - 1))
        imgs, segs = contrastive_clip(results['imgs'], results['window_gts'], results['th'], rng)
    results['ssl_flag'] = imgs is not None
    results['ssl_imgs'] = imgs
    results['ssl_segments'] = segs if imgs is not None else np.zeros((3, 2))
    return results


def _to_input_tensor(imgs):
    arr = np.ascontiguousarray(imgs)
    if arr.ndim == 4:
        return torch.from_numpy(np.ascontiguousarray(arr.transpose(3, 0, 1, 2)))
    return torch.from_numpy(np.ascontiguousarray(arr.T.astype(np.float32)))


LEGACY_PACK_META_KEYS = ('video_name', 'offset', 'sample_fps', 'sample_count', 'clip_length',
                         'feature_stride', 'input_type', 'annotations')


def legacy_pack_afsd(results: dict, meta_keys=LEGACY_PACK_META_KEYS) -> dict:
    """``PackAFSDInputs.transform`` as it was."""
    sample = LocalizationDataSample()
    gt = InstanceData()
    if 'window_gts' in results:
        gts = np.asarray(results['window_gts'], np.float32).reshape(-1, 3)
        gt.segments = torch.from_numpy(gts[:, :2] / results['clip_length'])
        gt.labels = torch.from_numpy(gts[:, 2].astype(np.int64))
    elif 'gt_segments_s' in results:
        gt.segments = torch.as_tensor(np.asarray(results['gt_segments_s'], np.float32)
                                      .reshape(-1, 2))
        gt.labels = torch.as_tensor(np.asarray(results['gt_labels'], np.int64) - 1)
    sample.gt_instances = gt
    for key in ('start_labels', 'end_labels'):
        if key in results:
            sample.set_field(torch.from_numpy(np.asarray(results[key], np.float32)), key)
    if results.get('ssl_flag'):
        sample.set_field(_to_input_tensor(results['ssl_imgs']), 'ssl_inputs')
        sample.set_field(torch.from_numpy(np.asarray(results['ssl_segments'], np.float32)),
                         'ssl_segments')
    sample.set_metainfo({k: results[k] for k in meta_keys if k in results})
    return dict(inputs=_to_input_tensor(results['imgs']), data_samples=sample)
