# Small BMN on the seeded synthetic ActivityNet-like set: trains on 2 CPU cores in a few minutes.
# Same grid as the real model (temporal_dim 100), narrower features and hidden layers.
_base_ = [
    '../../_base_/models/bmn_400x100.py', '../../_base_/datasets/activitynet_feature.py',
    '../../_base_/schedules/adam_9e.py', '../../_base_/default_runtime.py'
]

temporal_dim = 100
feat_dim = 64
data_dir = 'data/synthetic_anet_bmn'
# read by tools/misc/run_demo.py to (re)generate the data set
synthetic_data = dict(out_dir=data_dir, num_train=200, num_val=100, seed=0,
                      temporal_dim=temporal_dim, feat_dim=feat_dim, num_classes=10)

model = dict(feat_dim=feat_dim, hidden_dim_1d=64, hidden_dim_2d=32, hidden_dim_3d=64,
             num_samples=16)

_load = dict(type='LoadLocalizationFeature', temporal_dim=temporal_dim, feat_dim=feat_dim,
             cache=True)
_meta = ('video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame')
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file=f'{data_dir}/anet_anno_train.json',
                 data_prefix=dict(video=f'{data_dir}/features'),
                 pipeline=[_load, dict(type='GenerateLocalizationLabels'),
                           dict(type='PackLocalizationInputs', keys=('gt_segments', ),
                                meta_keys=('video_name', ))]))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file=f'{data_dir}/anet_anno_val.json',
                 data_prefix=dict(video=f'{data_dir}/features'),
                 pipeline=[_load, dict(type='GenerateLocalizationLabels'),
                           dict(type='PackLocalizationInputs', keys=('gt_segments', ),
                                meta_keys=_meta)]))
test_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(ann_file=f'{data_dir}/anet_anno_val.json',
                 data_prefix=dict(video=f'{data_dir}/features'),
                 pipeline=[_load, dict(type='PackLocalizationInputs', meta_keys=_meta)]))

# validate once, at the end (the demo tests separately with tools/test.py)
train_cfg = dict(val_begin=9, val_interval=9)
optim_wrapper = dict(optimizer=dict(lr=0.002))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(save_best=None, max_keep_ckpts=2))
randomness = dict(seed=0)
work_dir = './work_dirs/bmn_synthetic_demo'
