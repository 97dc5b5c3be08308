"""State dicts laid out as the official AFSD release's ``train.py`` saves them, for tests.

``AFSD/thumos14/train.py`` saves ``model.module.state_dict()`` of its ``BDNet``: no
``module.`` prefix, ``coarse_pyramid_detection`` (registered first) before ``backbone``, whose
``InceptionI3d`` sits under ``_model`` with pytorch-i3d names and no ``logits`` (it is built up
to ``Mixed_5c``). The names and shapes below follow that module tree
(``AFSD/thumos14/BDNet.py``, ``AFSD/common/i3d_backbone.py``, ``AFSD/common/layers.py``), written
out independently of mmloc's key map so that the map can be tested against them.
"""
from collections import OrderedDict

import torch

# Inception blocks of the original I3D: (name, in_channels, [b0, b1a, b1b, b2a, b2b, b3b])
I3D_BLOCKS = [('Mixed_3b', 192, [64, 96, 128, 16, 32, 32]),
              ('Mixed_3c', 256, [128, 128, 192, 32, 96, 64]),
              ('Mixed_4b', 480, [192, 96, 208, 16, 48, 64]),
              ('Mixed_4c', 512, [160, 112, 224, 24, 64, 64]),
              ('Mixed_4d', 512, [128, 128, 256, 24, 64, 64]),
              ('Mixed_4e', 512, [112, 144, 288, 32, 64, 64]),
              ('Mixed_4f', 528, [256, 160, 320, 32, 128, 128]),
              ('Mixed_5b', 832, [256, 160, 320, 32, 128, 128]),
              ('Mixed_5c', 832, [384, 192, 384, 48, 128, 128])]


def _unit3d_bn(name, cin, cout, k):
    # i3d_backbone.Unit3D: conv3d (no bias), then BatchNorm3d
    return [(f'{name}.conv3d.weight', (cout, cin, k, k, k)), (f'{name}.bn.weight', (cout,)),
            (f'{name}.bn.bias', (cout,)), (f'{name}.bn.running_mean', (cout,)),
            (f'{name}.bn.running_var', (cout,)), (f'{name}.bn.num_batches_tracked', ())]


def original_i3d_shapes(in_channels):
    shapes = (_unit3d_bn('Conv3d_1a_7x7', in_channels, 64, 7)
              + _unit3d_bn('Conv3d_2b_1x1', 64, 64, 1) + _unit3d_bn('Conv3d_2c_3x3', 64, 192, 3))
    for name, cin, (o0, o1, o2, o3, o4, o5) in I3D_BLOCKS:
        shapes += (_unit3d_bn(f'{name}.b0', cin, o0, 1) + _unit3d_bn(f'{name}.b1a', cin, o1, 1)
                   + _unit3d_bn(f'{name}.b1b', o1, o2, 3) + _unit3d_bn(f'{name}.b2a', cin, o3, 1)
                   + _unit3d_bn(f'{name}.b2b', o3, o4, 3) + _unit3d_bn(f'{name}.b3b', cin, o5, 1))
    return shapes


def _unit1d_gn(name, cin, cout, k):
    # nn.Sequential(Unit1D (conv1d with bias), GroupNorm, ReLU)
    return [(f'{name}.0.conv1d.weight', (cout, cin, k)), (f'{name}.0.conv1d.bias', (cout,)),
            (f'{name}.1.weight', (cout,)), (f'{name}.1.bias', (cout,))]


def original_coarse_pyramid_shapes(num_classes=21, width=512, num_levels=6, c4=832, c5=1024,
                                   c4_spatial=6, c5_spatial=3):
    """``CoarsePyramid`` in registration order (``width`` = conv_channels = proposal_channels,
    512 in the original)."""
    w = width
    shapes = []
    for level, (cin, s) in enumerate([(c4, c4_spatial), (c5, c5_spatial)]):
        shapes += [(f'pyramids.{level}.0.conv3d.weight', (w, cin, 1, s, s)),
                   (f'pyramids.{level}.0.conv3d.bias', (w,)),
                   (f'pyramids.{level}.1.weight', (w,)), (f'pyramids.{level}.1.bias', (w,))]
    for level in range(2, num_levels):
        shapes += _unit1d_gn(f'pyramids.{level}', w, w, 3)
    # loc_heads is registered (empty) right after pyramids and filled with ScaleExp at the end
    shapes += [(f'loc_heads.{i}.scale', (1,)) for i in range(num_levels)]
    for tower in ('loc_tower', 'conf_tower'):
        for i in range(2):
            shapes += _unit1d_gn(f'{tower}.{i}', w, w, 3)
    shapes += [('loc_head.conv1d.weight', (2, w, 3)), ('loc_head.conv1d.bias', (2,)),
               ('conf_head.conv1d.weight', (num_classes, w, 3)),
               ('conf_head.conv1d.bias', (num_classes,))]
    for branch in ('loc_proposal_branch', 'conf_proposal_branch'):
        shapes += (_unit1d_gn(f'{branch}.cur_point_conv', w, w, 1)
                   + _unit1d_gn(f'{branch}.lr_conv', w, 2 * w, 1)
                   + _unit1d_gn(f'{branch}.roi_conv', w, w, 1)
                   + _unit1d_gn(f'{branch}.proposal_conv', 4 * w, w, 1))
    shapes += [('prop_loc_head.conv1d.weight', (2, w, 1)), ('prop_loc_head.conv1d.bias', (2,)),
               ('prop_conf_head.conv1d.weight', (num_classes, w, 1)),
               ('prop_conf_head.conv1d.bias', (num_classes,)),
               ('center_head.conv1d.weight', (1, w, 3)), ('center_head.conv1d.bias', (1,))]
    # deconv = Sequential(Unit1D, GN, ReLU) x 3 flattened: tensors at 0/1, 3/4, 6/7
    for i, k in ((0, 3), (3, 3), (6, 1)):
        shapes += [(f'deconv.{i}.conv1d.weight', (w, w, k)), (f'deconv.{i}.conv1d.bias', (w,)),
                   (f'deconv.{i + 1}.weight', (w,)), (f'deconv.{i + 1}.bias', (w,))]
    return shapes


def original_bdnet_state_dict(in_channels=3, num_classes=21, width=512, seed=0):
    """A random ``BDNet`` state dict in the original's names and key order (distinct random
    values per tensor; BN variances positive, ``num_batches_tracked`` distinct int64 scalars)."""
    gen = torch.Generator().manual_seed(seed)
    shapes = ([('coarse_pyramid_detection.' + k, s)
               for k, s in original_coarse_pyramid_shapes(num_classes, width)]
              + [('backbone._model.' + k, s) for k, s in original_i3d_shapes(in_channels)])
    state = OrderedDict()
    for i, (key, shape) in enumerate(shapes):
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(1000 * seed + i)  # distinct, so tensors can be traced
        elif key.endswith('running_var'):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.05
    return state
