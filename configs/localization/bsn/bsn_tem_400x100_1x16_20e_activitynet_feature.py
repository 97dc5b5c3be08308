# BSN step 1: TEM on ActivityNet v1.3 (cuhk 400-d features), 1 GPU x 16 videos, 20 epochs.
# train: tools/train.py THIS; test (writes one TEM CSV per video of anet_anno_full.json to
# tem_results_dir, which PGM reads): tools/test.py THIS CKPT
_base_ = ['../../_base_/models/bsn_tem.py', '../../_base_/schedules/adam_20e.py',
          '../../_base_/default_runtime.py']

dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_full = 'data/ActivityNet/anet_anno_full.json'
work_dir = './work_dirs/bsn_400x100_20e_1x16_activitynet_feature/'
tem_results_dir = f'{work_dir}tem_results/'

train_pipeline = [
    dict(type='LoadLocalizationFeature', temporal_dim=100, feat_dim=400),
    dict(type='GenerateLocalizationLabels'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', ), meta_keys=('video_name', ))
]
val_pipeline = train_pipeline
test_pipeline = [
    dict(type='LoadLocalizationFeature', temporal_dim=100, feat_dim=400),
    dict(type='PackLocalizationInputs', meta_keys=('video_name', ))
]

train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=16, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=False,
    dataset=dict(type=dataset_type, ann_file=ann_file_train,
                 data_prefix=dict(video=data_root), pipeline=train_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=16, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=dict(video=data_root),
                 pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=16, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, ann_file=ann_file_full, data_prefix=dict(video=data_root),
                 pipeline=test_pipeline, test_mode=True))
# TEM has no metric: validation and test write the TEM outputs (tools/test.py --out DIR moves them)
val_evaluator = dict(type='DumpTEMResults', out_dir=tem_results_dir)
test_evaluator = val_evaluator

default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best=None,
                                     filename_tmpl='tem_epoch_{}.pth'))
