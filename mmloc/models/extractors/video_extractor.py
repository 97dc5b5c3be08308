"""``VideoFeatureExtractor``: snippets of RGB frames -> one feature vector per snippet.

A thin module over a registered backbone (the AFSD I3D, the SSN ResNet-50, a torchvision
video model, or any module returning a map or a vector). It does what every feature
extractor does around its backbone: uint8 frames -> float, a centre crop, per-channel
normalisation, the layout the backbone wants, and pooling to one vector per snippet:

* ``kind='3d'``: clips ``(B, C, F, H', W')`` -> map ``(B, D, t, h, w)`` -> mean over t, h, w;
* ``kind='2d'`` (TSN-style): each frame ``(B * F, C, H', W')`` -> ``(B * F, D, h, w)`` ->
  spatial mean, then the mean over the snippet's F frames.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from torch import nn

from mmloc.registry import MODELS

from .checkpoint import load_extractor_checkpoint


def centre_crop(frames: torch.Tensor, size: Optional[int]) -> torch.Tensor:
    """``(..., H, W, C)`` -> ``(..., s, s, C)`` from the centre (None or a larger size: as is)."""
    if not size:
        return frames
    h, w = frames.shape[-3], frames.shape[-2]
    s_h, s_w = min(size, h), min(size, w)
    top, left = (h - s_h) // 2, (w - s_w) // 2
    return frames[..., top:top + s_h, left:left + s_w, :]


@MODELS.register_module()
class VideoFeatureExtractor(nn.Module):
    """Per-snippet features of a backbone.

    Args:
        backbone: config of the backbone module.
        kind: ``'3d'`` (clips) or ``'2d'`` (frames, snippet mean).
        feat_dim: D, width of the output (checked on the first batch).
        endpoint: the key to take when the backbone returns a dict (I3D: ``'Mixed_5c'``).
        crop_size: centre crop in pixels (after the decoder's resize), None for none.
        mean, std: per-channel normalisation in 0..255 units, RGB order.
        channels: input channels taken from the frames (``(0, 1, 2)`` RGB; ``(0, 1)`` for flow
            stored as x/y in the first two channels of an image/video).
        checkpoint_layout: key map of :func:`load_extractor_checkpoint` (``'i3d'``,
            ``'resnet'``, ``'torchvision'``).

    ``forward(clips)``: uint8 or float ``(B, F, H, W, 3)`` -> ``(B, D)`` float32.
    """

    def __init__(self, backbone: dict, kind: str = '3d', feat_dim: Optional[int] = None,
                 endpoint: Optional[str] = None, crop_size: Optional[int] = 224,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 channels: Sequence[int] = (0, 1, 2), checkpoint_layout: str = 'i3d') -> None:
        super().__init__()
        if kind not in ('2d', '3d'):
            raise ValueError(f"VideoFeatureExtractor: kind must be '2d' or '3d', got {kind!r}")
        if len(mean) != len(channels) or len(std) != len(channels):
            raise ValueError(f'VideoFeatureExtractor: mean/std need one value per channel '
                             f'{tuple(channels)}')
        self.backbone = MODELS.build(backbone)
        self.kind = kind
        self.feat_dim = feat_dim
        self.endpoint = endpoint
        self.crop_size = crop_size
        self.channels = tuple(int(c) for c in channels)
        self.checkpoint_layout = checkpoint_layout
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32), persistent=False)

    def load_checkpoint(self, path: str) -> None:
        """The backbone's weights from a local file (the layout's key map, strict)."""
        load_extractor_checkpoint(self.backbone, path, self.checkpoint_layout)

    def preprocess(self, clips: torch.Tensor) -> torch.Tensor:
        """``(B, F, H, W, 3)`` uint8 -> normalised float ``(B, F, s, s, C)``."""
        if clips.ndim != 5:
            raise ValueError(f'VideoFeatureExtractor: expected clips (B, F, H, W, C), got '
                             f'{tuple(clips.shape)}')
        x = centre_crop(clips, self.crop_size)[..., list(self.channels)]
        return (x.float() - self.mean) / self.std

    def _pool(self, out) -> torch.Tensor:
        if isinstance(out, dict):
            key = self.endpoint or next(reversed(out))
            if key not in out:
                raise KeyError(f'VideoFeatureExtractor: the backbone returns {sorted(out)}, '
                               f'not endpoint {key!r}')
            out = out[key]
        if isinstance(out, (tuple, list)):
            out = out[-1]
        return out.flatten(2).mean(-1) if out.ndim > 2 else out

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        x = self.preprocess(clips.to(self.mean.device))
        b, f = x.shape[:2]
        if self.kind == '3d':
            feats = self._pool(self.backbone(x.permute(0, 4, 1, 2, 3).contiguous()))
        else:
            frames = x.reshape(b * f, *x.shape[2:]).permute(0, 3, 1, 2).contiguous()
            feats = self._pool(self.backbone(frames)).reshape(b, f, -1).mean(1)
        if self.feat_dim is not None and feats.shape[-1] != self.feat_dim:
            raise ValueError(f'VideoFeatureExtractor: the backbone gives {feats.shape[-1]} '
                             f'features per snippet, the config states feat_dim={self.feat_dim}')
        return feats.float()
