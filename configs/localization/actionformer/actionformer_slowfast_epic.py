# ActionFormer, EPIC-Kitchens 100 verbs, SlowFast features (actionformer-spec §7 "AF EPIC
# verb"): 97 classes, window 9, overlapping regression ranges, 5 + 16 epochs, trunc 0.3,
# pre-NMS top-k 5000, 2000 detections, sigma 0.4, mAP at tIoU 0.1:0.5.
# Nouns: actionformer_slowfast_epic_noun.py.
# Data (_base_/datasets/epic_kitchens_100_slowfast_actionformer.py):
# data/epic_actionformer/annotations/epic_kitchens_100_verb.json and
# slowfast_features/<id>.npz (key "feats", (T, 2304)), 30 fps, stride 16, window 32.
_base_ = ['../../_base_/models/actionformer.py',
          '../../_base_/datasets/epic_kitchens_100_slowfast_actionformer.py',
          '../../_base_/schedules/actionformer_adamw.py', '../../_base_/default_runtime.py']

warmup_epochs = 5
epochs = 16
max_epochs = 21
model = dict(
    num_classes=97, max_buffer_len_factor=4.0,
    regression_ranges=[(0, 4), (2, 8), (4, 16), (8, 32), (16, 64), (32, 10000)],
    backbone=dict(in_channels=2304, windows=9),
    loss=dict(init_loss_norm=250),
    test_cfg=dict(pre_nms_topk=5000, max_seg_num=2000, nms_sigma=0.4))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=1e-8, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, save_best=None,
                                     max_keep_ckpts=3))
