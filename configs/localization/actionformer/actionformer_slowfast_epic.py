# ActionFormer, EPIC-Kitchens 100 verbs, SlowFast features (actionformer-spec §7 "AF EPIC
# verb"): 97 classes, window 9, overlapping regression ranges, 5 + 16 epochs, trunc 0.3,
# pre-NMS top-k 5000, 2000 detections, sigma 0.4, mAP at tIoU 0.1:0.5.
# Nouns: actionformer_slowfast_epic_noun.py.
# Data: data/epic_actionformer/annotations/epic_kitchens_100_verb.json and
# slowfast_features/<id>.npz (key "feats", (T, 2304)), 30 fps, stride 16, window 32.
_base_ = ['./actionformer_i3d_thumos14.py']

data_root = 'data/epic_actionformer'
warmup_epochs = 5
epochs = 16
max_epochs = 21
model = dict(
    num_classes=97, max_buffer_len_factor=4.0,
    regression_ranges=[(0, 4), (2, 8), (4, 16), (8, 32), (16, 64), (32, 10000)],
    backbone=dict(in_channels=2304, windows=9),
    loss=dict(init_loss_norm=250),
    test_cfg=dict(pre_nms_topk=5000, max_seg_num=2000, nms_sigma=0.4))
_meta = ('video_name', 'duration_second', 'annotations')
train_pipeline = [
    dict(type='LoadLocalizationFeature', feature_key='feats'),
    dict(type='SegmentsToGrid', unit='index', clip=False),
    dict(type='TruncateFeature', max_length=2304, trunc_thresh=0.3, crop_ratio=(0.9, 1.0),
         clip='widened'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'), meta_keys=_meta),
]
test_pipeline = [dict(type='LoadLocalizationFeature', feature_key='feats'),
                 dict(type='PackLocalizationInputs', keys=(), meta_keys=_meta)]
_dataset = dict(type='FeatureDataset',
                ann_file=f'{data_root}/annotations/epic_kitchens_100_verb.json',
                data_prefix=dict(feature=f'{data_root}/slowfast_features'),
                feature_name_tmpl='{}.npz', fps=30, fps_overrides_file=True, feat_stride=16,
                feat_num_frames=32, fit_mode=None)
train_dataloader = dict(dataset=dict(_dataset, subset='training', pipeline=train_pipeline,
                                     _delete_=True))
val_dataloader = dict(dataset=dict(_dataset, subset='validation', test_mode=True,
                                   pipeline=test_pipeline, _delete_=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='DetectionMetric', tiou_thresholds=[0.1, 0.2, 0.3, 0.4, 0.5],
                     gt_cleaning=dict(tol_s=1e-3, min_length_s=1e-3))
test_evaluator = val_evaluator
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=1e-8, by_epoch=True, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs)
