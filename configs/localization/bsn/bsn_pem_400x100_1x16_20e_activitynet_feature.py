# BSN step 3: PEM on the PGM outputs, 16 videos per batch, 20 epochs.
# train: tools/train.py THIS; test: tools/test.py THIS CKPT --eval AR@AN --out results.json
_base_ = ['../../_base_/models/bsn_pem.py', '../../_base_/schedules/adam_20e.py',
          '../../_base_/default_runtime.py']

dataset_type = 'ActivityNetDataset'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_test = 'data/ActivityNet/anet_anno_val.json'
work_dir = './work_dirs/bsn_400x100_20e_1x16_activitynet_feature/'
pgm_proposals_dir = f'{work_dir}pgm_proposals/'
pgm_features_dir = f'{work_dir}pgm_features/'

_meta = ('video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame')
train_pipeline = [
    dict(type='LoadProposals', top_k=500, pgm_proposals_dir=pgm_proposals_dir,
         pgm_features_dir=pgm_features_dir),
    dict(type='PackLocalizationInputs', keys=('reference_temporal_iou', 'bsp_feature'),
         meta_keys=())
]
test_pipeline = [
    dict(type='LoadProposals', top_k=1000, pgm_proposals_dir=pgm_proposals_dir,
         pgm_features_dir=pgm_features_dir),
    dict(type='PackLocalizationInputs',
         keys=('tmin', 'tmax', 'tmin_score', 'tmax_score', 'bsp_feature'), meta_keys=_meta)
]
val_pipeline = test_pipeline

# PEM reads PGM outputs, not the feature CSVs: no feature-file check.
_dataset = dict(type=dataset_type, check_files=False)
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=16, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=False,
    dataset=dict(_dataset, ann_file=ann_file_train, pipeline=train_pipeline))
# predict is batched (each video keeps its own metadata), so batches > 1 are fine
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, ann_file=ann_file_val, pipeline=val_pipeline, test_mode=True))
test_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, ann_file=ann_file_test, pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='ANetMetric', metric_type='AR@AN', out_file=f'{work_dir}results.json')
test_evaluator = val_evaluator

# the TEM schedule (_base_/schedules/adam_20e.py) with lr 1e-2, L2 1e-5, x0.1 after epoch 10
optim_wrapper = dict(optimizer=dict(lr=0.01, weight_decay=0.00001))
param_scheduler = [dict(type='MultiStepLR', begin=0, end=20, by_epoch=True,
                        milestones=[10], gamma=0.1)]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, save_best='auto',
                                     filename_tmpl='pem_epoch_{}.pth'))
