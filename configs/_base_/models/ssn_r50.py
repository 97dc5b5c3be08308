# SSN with a ResNet-50 frame backbone (MMAction2 0.x `ssn_r50_450e_thumos14_rgb_*` model).
# 0.x initialised the backbone from `torchvision://resnet50`; here give a LOCAL file in
# torchvision (or 0.x) naming: backbone=dict(pretrained='checkpoints/resnet50-0676ba61.pth').
model = dict(
    type='SSN',
    backbone=dict(type='SSNResNet', depth=50, pretrained=None, partial_bn=True,
                  norm_eval=False),
    cls_head=dict(type='SSNHead', in_channels=2048, num_classes=20, stpp_stage=(1, 1, 1),
                  num_segments_list=(2, 5, 2), use_regression=True, dropout_ratio=0.0,
                  init_std=0.001),
    loss=dict(type='SSNLoss', num_per_video=8, positive_ratio=1, background_ratio=1,
              incomplete_ratio=6, comp_loss_weight=0.1, reg_loss_weight=0.1),
    dropout_ratio=0.8,
    test_cfg=dict(top_k=2000, nms=0.2, use_regression=True, batch_size=16,
                  zero_length='drop'))  # 'mmaction2_0x': 0.x's rows (docs/ssn.md)
