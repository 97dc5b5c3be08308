# ActionFormer, ActivityNet-1.3, TSP features (actionformer-spec §7 "AF ANet TSP"):
# class-agnostic training (num_classes 1), every video linearly resized to 192 positions
# (the grid follows: stride' = ((T-1)*16 + 16) / 192), absolute PE, D = H = 256, windows
# [7]*5 + global, 5 + 10 epochs, lr 1e-3, batch 16, label smoothing 0.1, loss weight 2.
# Test: class-agnostic Soft-NMS (sigma 0.75) + voting 0.9, then the CUHK video classifier
# (top-2 classes, score sqrt(cls * det), 200 best proposals) through DetectionMetric's
# classifier_fusion, the same function `tools/analysis/report_map.py --score-fusion sqrt`
# runs. Data (_base_/datasets/activitynet_tsp_actionformer.py):
# data/anet_actionformer/annotations/anet1.3_tsp_filtered.json,
# tsp_features/v_<id>.npy (T, 512), annotations/cuhk_val_simp_share.json.
_base_ = ['../../_base_/models/actionformer.py',
          '../../_base_/datasets/activitynet_tsp_actionformer.py',
          '../../_base_/schedules/actionformer_adamw.py', '../../_base_/default_runtime.py']

max_seq_len = 192   # the data set file's: its resize, crop and padding use 192 too
warmup_epochs = 5
epochs = 10
max_epochs = 15
model = dict(
    num_classes=1, max_seq_len=max_seq_len, max_buffer_len_factor=1.0,
    backbone=dict(in_channels=512, dim=256, max_len=max_seq_len, windows=[7, 7, 7, 7, 7, -1],
                  use_abs_pe=True),
    neck=dict(dim=256), cls_head=dict(in_channels=256, dim=256),
    reg_head=dict(in_channels=256, dim=256),
    loss=dict(init_loss_norm=200, loss_weight=2.0, label_smoothing=0.1),
    test_cfg=dict(pre_nms_topk=2000, max_seg_num=100, nms_sigma=0.75, duration_thresh=0.001,
                  multiclass_nms=False, voting_thresh=0.9))
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=1e-8, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, save_best=None,
                                     max_keep_ckpts=3))
