"""torchvision's video models as extractor backbones, registered only when torchvision
imports (it is optional: nothing here is needed without it).

``TorchvisionVideoBackbone(arch)`` builds ``torchvision.models.video.<arch>(weights=None)``
(no download) with its classifier replaced by an identity, so the output is the pooled
``(B, D)`` vector; weights come from a local file through the ``'torchvision'`` key map.
"""
from __future__ import annotations

import importlib.util

from torch import nn

from mmloc.registry import MODELS

#: arch -> (feature width, the classifier attribute replaced by an identity)
TORCHVISION_VIDEO_ARCHS = {
    'r3d_18': (512, 'fc'), 'mc3_18': (512, 'fc'), 'r2plus1d_18': (512, 'fc'),
    's3d': (1024, 'classifier'), 'mvit_v1_b': (768, 'head'), 'mvit_v2_s': (768, 'head'),
    'swin3d_t': (768, 'head'), 'swin3d_s': (768, 'head'), 'swin3d_b': (1024, 'head'),
}


def torchvision_available() -> bool:
    """True when torchvision is installed and imports beside this torch."""
    if importlib.util.find_spec('torchvision') is None:
        return False
    try:
        import torchvision.models.video  # noqa: F401
    except Exception:   # noqa: BLE001 (a torchvision built for another torch fails oddly)
        return False
    return True


class TorchvisionVideoBackbone(nn.Module):
    """A torchvision video classifier without its classifier: clips ``(B, 3, T, H, W)`` ->
    ``(B, D)``."""

    def __init__(self, arch: str = 'r2plus1d_18') -> None:
        super().__init__()
        from torchvision.models import video
        if arch not in TORCHVISION_VIDEO_ARCHS:
            raise ValueError(f'TorchvisionVideoBackbone: arch must be one of '
                             f'{sorted(TORCHVISION_VIDEO_ARCHS)}, got {arch!r}')
        self.feat_dim, head = TORCHVISION_VIDEO_ARCHS[arch]
        self.model = getattr(video, arch)(weights=None)
        setattr(self.model, head, nn.Identity())
        if arch == 's3d':   # its classifier is (dropout, conv); pooling happens before it
            self.model.classifier = nn.Flatten(1)

    def forward(self, x):
        return self.model(x)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        # checkpoint keys are the torchvision model's own (no "model." prefix)
        if state_dict and not any(k.startswith('model.') for k in state_dict):
            state_dict = {f'model.{k}': v for k, v in state_dict.items()}
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def state_dict(self, *args, **kwargs):
        return {k[len('model.'):]: v for k, v in super().state_dict(*args, **kwargs).items()}


if torchvision_available():
    MODELS.register_module(module=TorchvisionVideoBackbone)
