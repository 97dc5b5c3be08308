# BSN step 1 on the 2048-d SlowOnly-K700 features. Its own work_dir: MMAction2's K700 configs
# reused the 400-d one, so the two runs overwrote each other's outputs (spec §8 #24).
_base_ = ['./bsn_tem_400x100_1x16_20e_activitynet_feature.py']

feat_dim = 2048
data_root = 'data/ActivityNet/k700slowonly/'
work_dir = './work_dirs/bsn_2048x100_20e_1x16_activitynet_slowonly_k700_feature/'
tem_results_dir = f'{work_dir}tem_results/'

model = dict(tem_feat_dim=feat_dim)
train_pipeline = [
    dict(type='LoadLocalizationFeature', temporal_dim=100, feat_dim=feat_dim),
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', ), meta_keys=('video_name', ))
]
test_pipeline = [
    dict(type='LoadLocalizationFeature', temporal_dim=100, feat_dim=feat_dim),
    dict(type='PackLocalizationInputs', meta_keys=('video_name', ))
]
val_pipeline = train_pipeline
train_dataloader = dict(dataset=dict(data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_prefix=dict(video=data_root), pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(data_prefix=dict(video=data_root), pipeline=test_pipeline))
val_evaluator = dict(type='DumpTEMResults', out_dir=tem_results_dir)
test_evaluator = val_evaluator
