# AFSD (THUMOS14, RGB): I3D backbone at 256 x 96 x 96, 6-level pyramid of width 512, 21 classes
# (20 + background). Loss weights as in the authors' README for THUMOS14 (spec §3.4): the
# code defaults would silently train with piou = 0.
clip_length = 256
model = dict(
    type='AFSD',
    # backbone -> neck (pyramid) -> head (coarse + refinement); AFSDNet fills the parts'
    # widths (width, num_levels, gn_groups, num_classes, clip_length, crop-fixed kernels).
    net=dict(type='AFSDNet', num_classes=21, clip_length=clip_length, crop_size=96, width=512,
             num_levels=6, gn_groups=32, freeze_bn=True,
             # pretrained: a LOCAL pytorch-i3d Kinetics checkpoint, loaded strictly.
             backbone=dict(type='InceptionI3d', in_channels=3,
                           pretrained='models/i3d_models/rgb_imagenet.pt'),
             neck=dict(type='AFSDFramePyramid'),
             head=dict(type='AFSDHead')),
    loss=dict(type='AFSDLoss', lw=10.0, cw=1.0, piou=0.5, ssl=0.1),
    # windows_per_batch=1: one window per forward pass, as the original test.py (its results
    # exactly); more is faster but may flip a candidate at a score floor (docs/afsd.md).
    test_cfg=dict(clip_stride=128, conf_thresh=0.01, nms_sigma=0.5, top_k=5000,
                  score_threshold=0.001, pad_value=0.0, windows_per_batch=1))
