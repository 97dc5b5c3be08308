"""AFSD (Lin et al., CVPR 2021): anchor-free localization with saliency-based boundary
refinement, as pure-PyTorch pieces (see docs/afsd.md)."""
from .boundary_pooling import boundary_max_pooling, frame_regions, level_regions
from .i3d import InceptionI3d, load_i3d_checkpoint
from .head import AFSDHead
from .neck import AFSDFeaturePyramid, AFSDFramePyramid
from .net import AFSDNet, upgrade_afsd_state_dict
from .original_checkpoint import convert_original_afsd_state_dict, is_original_afsd_state_dict
from .tiny_backbone import TinyVideoBackbone

__all__ = ['AFSDNet', 'AFSDHead', 'AFSDFramePyramid', 'AFSDFeaturePyramid',
           'upgrade_afsd_state_dict', 'convert_original_afsd_state_dict',
           'is_original_afsd_state_dict', 'InceptionI3d', 'TinyVideoBackbone',
           'boundary_max_pooling', 'frame_regions', 'level_regions', 'load_i3d_checkpoint']
