# SSN on pre-extracted THUMOS14 snippet features (e.g. two-stream I3D, 2048-d, one snippet
# every few frames) with the annotation JSON in seconds; proposals are multi-scale sliding
# windows unless `proposal_file` points to a TAG list in frames (the 0.x denormalised list).
# Layout (see docs/ssn.md):
#   data/thumos14/features/<video_id>.npy              (C, T) float
#   data/thumos14/annotations/thumos14_anno_action.json {video_id: {subset, duration_second,
#       duration_frame, fps, annotations: [{segment: [s, e], class|label: name}]}}
# THUMOS14 convention: train on the validation videos (subset 'train' in this JSON),
# test on the test videos.
# Classes, sliding windows (16..512 frames, stride 0.25), snippet step 4, pipelines and the
# metric: _base_/datasets/thumos14_feature_ssn.py.
_base_ = ['../../_base_/models/ssn_feature.py', '../../_base_/datasets/thumos14_feature_ssn.py',
          '../../_base_/default_runtime.py']

data_root = 'data/thumos14/features'
ann_file = 'data/thumos14/annotations/thumos14_anno_action.json'

model = dict(backbone=dict(in_channels=2048, hidden=(512, )),
             cls_head=dict(in_channels=512, num_classes=20))

_dataset = dict(type='SSNFeatureDataset', ann_file=ann_file, class_names=_base_.classes,
                data_prefix=dict(video=data_root),
                proposal_generator=_base_.proposal_generator,
                proposal_file=None, assigner=dict(type='SSNProposalAssigner'),
                sampler=dict(type='SSNProposalSampler'))
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, subset='train', pipeline=_base_.train_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, subset='test', test_mode=True, pipeline=_base_.test_pipeline,
                 reg_normalize_constants=dict(subset='train')))

max_epochs = 100
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=20,
                 val_interval=20)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.001, weight_decay=1e-5),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[80],
         gamma=0.1)
]
default_hooks = dict(checkpoint=dict(interval=20, save_best='auto', rule='greater',
                                     max_keep_ckpts=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
work_dir = './work_dirs/ssn_feature_thumos14'
