# TriDet, THUMOS14, two-stream I3D features (actionformer-spec §7 "TD THUMOS"): SGP window 1,
# k 5, MLP 768, 16 bins, IoU weight power 0.2, input noise 5e-4, AdamW 1e-4 / wd 0.025,
# 20 warm-up + 20 cosine epochs, 2000 detections, GT clipped to the crop window itself.
# Published: 69.27 average mAP (0.3:0.7), docs/tridet.md.
_base_ = ['../../_base_/models/tridet.py', '../../_base_/datasets/thumos14_actionformer.py',
          '../../_base_/schedules/actionformer_adamw.py', '../../_base_/default_runtime.py']

warmup_epochs = 20
epochs = 20
max_epochs = 40
train_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='SegmentsToGrid', unit='index', clip=False),
    dict(type='TruncateFeature', max_length=2304, trunc_thresh=0.5, crop_ratio=(0.9, 1.0),
         clip='window'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'),
         meta_keys=('video_name', 'duration_second', 'annotations')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(gt_cleaning=dict(tol_s=1e-3, min_length_s=None, drop_empty=True))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.025))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=1e-8, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, save_best=None,
                                     max_keep_ckpts=3))
