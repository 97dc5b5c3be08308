# TriDet, EPIC-Kitchens 100 verbs, SlowFast features (actionformer-spec §7 "TD EPIC verb"):
# 97 classes, SGP window 5, k 2, MLP 1024, 16 bins, IoU power 0.25, no input noise,
# overlapping ranges, 5 + 22 epochs, eta_min 5e-5, trunc 0.3, sigma 0.4, 2000 detections.
# Nouns: tridet_slowfast_epic_noun.py. Data as the ActionFormer EPIC configs
# (_base_/datasets/epic_kitchens_100_slowfast_actionformer.py); TriDet clips GT to the crop
# window itself and cleans GT as on THUMOS14 (no minimum length, videos without GT dropped).
_base_ = ['../../_base_/models/tridet.py',
          '../../_base_/datasets/epic_kitchens_100_slowfast_actionformer.py',
          '../../_base_/schedules/actionformer_adamw.py', '../../_base_/default_runtime.py']

warmup_epochs = 5
epochs = 22
max_epochs = 27
model = dict(
    num_classes=97, max_buffer_len_factor=4.0, input_noise=0.0,
    regression_ranges=[(0, 4), (2, 8), (4, 16), (8, 32), (16, 64), (32, 10000)],
    backbone=dict(in_channels=2304, windows=5, k=2, mlp_dim=1024),
    loss=dict(init_loss_norm=250, iou_weight_power=0.25),
    test_cfg=dict(pre_nms_topk=5000, max_seg_num=2000, nms_sigma=0.4))
train_pipeline = [
    dict(type='LoadLocalizationFeature', feature_key='feats'),
    dict(type='SegmentsToGrid', unit='index', clip=False),
    dict(type='TruncateFeature', max_length=2304, trunc_thresh=0.3, crop_ratio=(0.9, 1.0),
         clip='window'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'),
         meta_keys=('video_name', 'duration_second', 'annotations')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(gt_cleaning=dict(tol_s=1e-3, min_length_s=None, drop_empty=True))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=5e-5, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, save_best=None,
                                     max_keep_ckpts=3))
