# ActionFormer, ActivityNet-1.3, TSP features (actionformer-spec §7 "AF ANet TSP"):
# class-agnostic training (num_classes 1), every video linearly resized to 192 positions
# (the grid follows: stride' = ((T-1)*16 + 16) / 192), absolute PE, D = H = 256, windows
# [7]*5 + global, 5 + 10 epochs, lr 1e-3, batch 16, label smoothing 0.1, loss weight 2.
# Test: class-agnostic Soft-NMS (sigma 0.75) + voting 0.9, then the CUHK video classifier
# (top-2 classes, score sqrt(cls * det), 200 best proposals) through DetectionMetric's
# classifier_fusion, the same function `tools/analysis/report_map.py --score-fusion sqrt`
# runs. Data: data/anet_actionformer/annotations/anet1.3_tsp_filtered.json,
# tsp_features/v_<id>.npy (T, 512), annotations/cuhk_val_simp_share.json.
_base_ = ['./actionformer_i3d_thumos14.py']

data_root = 'data/anet_actionformer'
max_seq_len = 192
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
_meta = ('video_name', 'duration_second', 'annotations')
train_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='RemoveDuplicateAnnotations', tol_s=1e-3, min_length_s=1e-3),   # spec §1.1
    dict(type='ResizeFeature', num_steps=max_seq_len, method='linear'),
    dict(type='SegmentsToGrid', unit='index', clip=False, single_class=True),
    dict(type='ClipSegmentsToFeature', trunc_thresh=0.5),
    dict(type='TruncateFeature', max_length=max_seq_len, trunc_thresh=0.5,
         crop_ratio=(0.9, 1.0), clip='widened'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'), meta_keys=_meta),
]
test_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='ResizeFeature', num_steps=max_seq_len, method='linear'),
    dict(type='PackLocalizationInputs', keys=(), meta_keys=_meta),
]
_dataset = dict(type='FeatureDataset', ann_file=f'{data_root}/annotations/anet1.3_tsp_filtered.json',
                data_prefix=dict(feature=f'{data_root}/tsp_features'),
                feature_name_tmpl='v_{}.npy', fps=15, fps_overrides_file=True, feat_stride=16,
                feat_num_frames=16, fit_mode=None)
train_dataloader = dict(
    batch_size=16, collate_fn=dict(type='localization_collate', pad_to_length=max_seq_len),
    dataset=dict(_dataset, subset='training', pipeline=train_pipeline, _delete_=True))
val_dataloader = dict(dataset=dict(_dataset, subset='validation', test_mode=True,
                                   pipeline=test_pipeline, _delete_=True))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='DetectionMetric', protocol='anet',
    gt_cleaning=dict(tol_s=1e-3, min_length_s=1e-3),   # spec §1.1
    classifier_fusion=dict(file=f'{data_root}/annotations/cuhk_val_simp_share.json',
                           top_k_classes=2, score_fusion='sqrt', num_pred=200))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=1e-8, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
