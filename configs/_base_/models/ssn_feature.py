# SSN over pre-extracted snippet features: an MLP (or identity with hidden=()) replaces
# the frame backbone; STPP, head, losses and post-processing are the 0.x ones.
feat_dim = 2048
model = dict(
    type='SSN',
    backbone=dict(type='SSNFeatureMLP', in_channels=feat_dim, hidden=(512, ),
                  dropout_ratio=0.0),
    cls_head=dict(type='SSNHead', in_channels=512, num_classes=20, stpp_stage=(1, 1, 1),
                  num_segments_list=(2, 5, 2), use_regression=True, dropout_ratio=0.0,
                  init_std=0.001),
    loss=dict(type='SSNLoss', num_per_video=8, positive_ratio=1, background_ratio=1,
              incomplete_ratio=6, comp_loss_weight=0.1, reg_loss_weight=0.1),
    dropout_ratio=0.5,
    test_cfg=dict(top_k=2000, nms=0.2, use_regression=True, batch_size=4096))
