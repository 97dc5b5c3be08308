# TriDet, ActivityNet-1.3, TSP features (actionformer-spec §7 "TD ANet TSP"): no resize
# (max_seq_len 768, inputs longer than 768 cannot run: the point buffer), absolute PE,
# D 256 / H 512 / MLP 2048, SGP window 15, k 1.3, live SGP branches (init std 0.2), 12 bins,
# input noise 0.5, lr 1e-3 / wd 0.04, 10 + 5 epochs, eta_min 5e-5, clip 0.4, batch 16.
# Test: class-agnostic Soft-NMS (sigma 0.70) + score voting 0.95, 200 detections, then the
# CUHK classifier fusion (top-2, sqrt) as the ActionFormer ANet config.
# Data: _base_/datasets/activitynet_tsp_actionformer.py, with TriDet's own pipelines (no
# resize, GT clipped to the crop window itself) and GT cleaning.
_base_ = ['../../_base_/models/tridet.py',
          '../../_base_/datasets/activitynet_tsp_actionformer.py',
          '../../_base_/schedules/actionformer_adamw.py', '../../_base_/default_runtime.py']

max_seq_len = 768
warmup_epochs = 10
epochs = 5
max_epochs = 15
_head = dict(in_channels=256, dim=512)
model = dict(
    num_classes=1, max_seq_len=max_seq_len, max_buffer_len_factor=1.0, input_noise=0.5,
    backbone=dict(in_channels=512, dim=256, max_len=max_seq_len, windows=15, k=1.3,
                  mlp_dim=2048, init_conv_vars=0.2, use_abs_pe=True),
    neck=dict(dim=256), cls_head=_head, start_head=_head, end_head=_head,
    reg_head=dict(in_channels=256, dim=512, num_bins=12),
    loss=dict(init_loss_norm=400, label_smoothing=0.1, iou_weight_power=1.0),
    test_cfg=dict(pre_nms_topk=2000, max_seg_num=200, nms_sigma=0.70, duration_thresh=0.1,
                  multiclass_nms=False, voting_thresh=0.95))
_meta = ('video_name', 'duration_second', 'annotations')
train_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='RemoveDuplicateAnnotations', tol_s=1e-3, min_length_s=None),   # spec §1.1
    dict(type='SegmentsToGrid', unit='index', clip=False, single_class=True),
    dict(type='ClipSegmentsToFeature', trunc_thresh=0.5),
    dict(type='TruncateFeature', max_length=max_seq_len, trunc_thresh=0.5,
         crop_ratio=(0.9, 1.0), clip='window'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'), meta_keys=_meta),
]
test_pipeline = [dict(type='LoadLocalizationFeature'),
                 dict(type='PackLocalizationInputs', keys=(), meta_keys=_meta)]
train_dataloader = dict(collate_fn=dict(pad_to_length=max_seq_len),
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(gt_cleaning=dict(tol_s=1e-3, min_length_s=None, drop_empty=True))  # §1.1
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.04), clip_grad=dict(max_norm=0.4))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=5e-5, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, save_best=None,
                                     max_keep_ckpts=3))
