# THUMOS14 with ActionFormer's I3D features (actionformer-spec §1): the official
# `annotations/thumos14.json` (database layout, subsets "Validation" / "Test", per-video
# fps, label_id) and `i3d_features/<video>.npy` (T, 2048) every 4 frames over 16 frames.
# Trains on validation, evaluates on test. Grid: g = t * fps / 4 - 2 (spec §1.3).
data_root = 'data/thumos14_actionformer'
max_seq_len = 2304
_meta = ('video_name', 'duration_second', 'annotations')
train_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='SegmentsToGrid', unit='index', clip=False),
    dict(type='TruncateFeature', max_length=max_seq_len, trunc_thresh=0.5,
         crop_ratio=(0.9, 1.0), clip='widened'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'), meta_keys=_meta),
]
test_pipeline = [
    dict(type='LoadLocalizationFeature'),
    dict(type='PackLocalizationInputs', keys=(), meta_keys=_meta),
]
_dataset = dict(type='FeatureDataset', ann_file=f'{data_root}/annotations/thumos14.json',
                data_prefix=dict(feature=f'{data_root}/i3d_features'),
                feature_name_tmpl='{}.npy', feat_stride=4, feat_num_frames=16, fit_mode=None)
train_dataloader = dict(
    batch_size=2, num_workers=4, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='localization_collate', pad_to_length=max_seq_len),
    dataset=dict(_dataset, subset='validation', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # the model pads each video as upstream (max_seq_len or a multiple of max_div_factor)
    collate_fn=dict(type='localization_collate'),
    dataset=dict(_dataset, subset='test', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# GT cleaned as the official evaluator does (actionformer-spec §1.1)
val_evaluator = dict(type='DetectionMetric', protocol='thumos14',
                     gt_cleaning=dict(tol_s=1e-3, min_length_s=1e-3))
test_evaluator = val_evaluator
