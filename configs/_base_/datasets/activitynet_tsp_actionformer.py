# ActivityNet-1.3 with ActionFormer's TSP features (actionformer-spec §7 "ANet TSP"):
# data/anet_actionformer/annotations/anet1.3_tsp_filtered.json, tsp_features/v_<id>.npy
# (T, 512), 15 fps, stride 16, window 16; class-agnostic training (single_class), ANet mAP
# with the CUHK video classifier (annotations/cuhk_val_simp_share.json: top-2 classes, score
# sqrt(cls * det), 200 best proposals) through DetectionMetric's classifier_fusion. Batch 16;
# the other loader settings as THUMOS14.
# ActionFormer's pipeline: every video linearly resized to max_seq_len = 192 positions (the
# grid follows: stride' = ((T-1)*16 + 16) / 192), GT kept in the widened crop. TriDet
# configs replace max_seq_len, the pipelines (no resize, GT clipped to the crop window) and
# the GT cleaning.
_base_ = ['./thumos14_actionformer.py']

data_root = 'data/anet_actionformer'
max_seq_len = 192
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
