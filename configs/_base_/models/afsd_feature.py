# AFSD on pre-extracted I3D snippet features (one 2048-d RGB+flow vector per 4 frames at 10 fps)
# instead of frames: no backbone; level 0 is a k1 conv on the features (spec §7 "feature-based").
clip_length = 256
model = dict(
    type='AFSD',
    net=dict(type='AFSDNet', num_classes=21, clip_length=clip_length, backbone=None,
             feature_channels=2048, width=512, num_levels=6, gn_groups=32,
             neck=dict(type='AFSDFeaturePyramid'), head=dict(type='AFSDHead')),
    loss=dict(type='AFSDLoss', lw=10.0, cw=1.0, piou=0.5, ssl=0.0),  # no frames: no contrastive
    test_cfg=dict(clip_stride=128, conf_thresh=0.01, nms_sigma=0.5, top_k=5000,
                  score_threshold=0.001, pad_value=0.0, windows_per_batch=1))
