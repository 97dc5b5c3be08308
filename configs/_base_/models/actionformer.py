# ActionFormer (LocPointTransformer, actionformer-spec §2), THUMOS14 sizes: I3D 2048-d
# input, D = H = 512, 6 levels, local window 19, (2, 2, 5) blocks. Configs override sizes.
model = dict(
    type='ActionFormer',
    num_classes=20,
    max_seq_len=2304,
    max_buffer_len_factor=6.0,
    regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000)],
    center_sample='radius',
    center_sample_radius=1.5,
    backbone=dict(type='ActionFormerBackbone', in_channels=2048, dim=512, num_heads=4,
                  embd_kernel_size=3, embd_with_ln=True, max_len=2304, arch=(2, 2, 5),
                  windows=19, scale_factor=2, drop_path=0.1, dropout=0.0, use_abs_pe=False),
    neck=dict(type='ActionFormerNeck', dim=512, num_levels=6, with_ln=True),
    cls_head=dict(type='ActionFormerClsHead', in_channels=512, dim=512, num_layers=3,
                  kernel_size=3, with_ln=True, prior_prob=0.01, empty_classes=()),
    reg_head=dict(type='ActionFormerRegHead', in_channels=512, num_levels=6, dim=512,
                  num_layers=3, kernel_size=3, with_ln=True),
    loss=dict(type='ActionFormerLoss', init_loss_norm=100, loss_weight=1.0,
              label_smoothing=0.0),
    test_cfg=dict(pre_nms_thresh=0.001, pre_nms_topk=2000, duration_thresh=0.05,
                  nms_method='soft', iou_threshold=0.1, min_score=0.001, max_seg_num=200,
                  multiclass_nms=True, nms_sigma=0.5, voting_thresh=0.7))
