# ActivityNet v1.3 with the cuhk 400-d csv_mean_100 features, laid out as MMAction2 users have it.
dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
data_root_val = data_root
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_test = 'data/ActivityNet/anet_anno_val.json'
temporal_dim = 100
feat_dim = 400

train_pipeline = [
    dict(type='LoadLocalizationFeature', temporal_dim=temporal_dim, feat_dim=feat_dim),
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', ), meta_keys=('video_name', ))
]
val_pipeline = [
    dict(type='LoadLocalizationFeature', temporal_dim=temporal_dim, feat_dim=feat_dim),
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', ),
         meta_keys=('video_name', 'duration_second', 'duration_frame', 'annotations',
                    'feature_frame'))
]
test_pipeline = [
    dict(type='LoadLocalizationFeature', temporal_dim=temporal_dim, feat_dim=feat_dim),
    dict(type='PackLocalizationInputs',
         meta_keys=('video_name', 'duration_second', 'duration_frame', 'annotations',
                    'feature_frame'))
]

train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    drop_last=True,
    dataset=dict(type=dataset_type, ann_file=ann_file_train,
                 data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file_val,
                 data_prefix=dict(video=data_root_val), pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file_test,
                 data_prefix=dict(video=data_root_val), pipeline=test_pipeline, test_mode=True))

val_evaluator = dict(type='ANetMetric', metric_type='AR@AN')
test_evaluator = val_evaluator
