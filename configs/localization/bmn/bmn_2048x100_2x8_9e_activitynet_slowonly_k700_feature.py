# BMN on the 2048-d SlowOnly-K700 features (same layout as csv_mean_100).
_base_ = ['./bmn_400x100_2x8_9e_activitynet_feature.py']

feat_dim = 2048
data_root = 'data/ActivityNet/k700slowonly/'
model = dict(feat_dim=feat_dim)
_pipeline_load = dict(type='LoadLocalizationFeature', temporal_dim=100, feat_dim=feat_dim)
train_dataloader = dict(dataset=dict(
    data_prefix=dict(video=data_root),
    pipeline=[_pipeline_load, dict(type='GenerateLocalizationLabels'),
              dict(type='PackLocalizationInputs', keys=('gt_segments', ), meta_keys=('video_name', ))]))
val_dataloader = dict(dataset=dict(
    data_prefix=dict(video=data_root),
    pipeline=[_pipeline_load, dict(type='GenerateLocalizationLabels'),
              dict(type='PackLocalizationInputs', keys=('gt_segments', ),
                   meta_keys=('video_name', 'duration_second', 'duration_frame', 'annotations',
                              'feature_frame'))]))
test_dataloader = dict(dataset=dict(
    data_prefix=dict(video=data_root),
    pipeline=[_pipeline_load,
              dict(type='PackLocalizationInputs',
                   meta_keys=('video_name', 'duration_second', 'duration_frame', 'annotations',
                              'feature_frame'))]))
work_dir = './work_dirs/bmn_2048x100_2x8_9e_activitynet_slowonly_k700_feature/'
