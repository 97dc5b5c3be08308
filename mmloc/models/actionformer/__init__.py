"""ActionFormer (Zhang et al., ECCV 2022) and TriDet (Shi et al., CVPR 2023): the one-stage
anchor-free family, as pure-PyTorch pieces (see docs/actionformer.md, docs/tridet.md)."""
from .attention import MaskedMHCA, global_attention, local_attention
from .backbones import (ActionFormerBackbone, SGPBlock, TransformerBlock, TriDetBackbone,
                        sgp_expanded_kernel)
from .blocks import (AffineDropPath, LayerNorm, MaskedConv1D, Scale, downsample_mask,
                     max_div_factor, sinusoid_table)
from .checkpoint import convert_upstream_checkpoint, map_upstream_keys
from .decoding import decode_level, decode_video, trident_offsets
from .heads import ActionFormerClsHead, ActionFormerRegHead, prior_bias
from .neck import ActionFormerNeck
from .points import PointGenerator, level_points
from .targets import assign_points

__all__ = ['MaskedMHCA', 'local_attention', 'global_attention', 'ActionFormerBackbone',
           'TriDetBackbone', 'TransformerBlock', 'SGPBlock', 'sgp_expanded_kernel',
           'AffineDropPath', 'LayerNorm', 'MaskedConv1D', 'Scale', 'downsample_mask',
           'max_div_factor', 'sinusoid_table', 'convert_upstream_checkpoint',
           'map_upstream_keys', 'decode_level', 'decode_video', 'trident_offsets',
           'ActionFormerClsHead', 'ActionFormerRegHead', 'prior_bias', 'ActionFormerNeck',
           'PointGenerator', 'level_points', 'assign_points']
