# EPIC-Kitchens 100 verbs with ActionFormer's SlowFast features (actionformer-spec §7):
# data/epic_actionformer/annotations/epic_kitchens_100_verb.json (subsets "training" /
# "validation") and slowfast_features/<id>.npz (key "feats", (T, 2304)), 30 fps, stride 16,
# window 32; mAP at tIoU 0.1:0.5. Loaders as THUMOS14 (batch 2, padded to 2304).
# ActionFormer's training pipeline (trunc 0.3, GT kept in the widened crop); TriDet configs
# replace it (GT clipped to the crop window) and the GT cleaning. Nouns: the configs swap
# ann_file for epic_kitchens_100_noun.json.
_base_ = ['./thumos14_actionformer.py']

data_root = 'data/epic_actionformer'
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
