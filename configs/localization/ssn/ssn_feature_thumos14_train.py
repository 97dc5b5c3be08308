# SSN on pre-extracted THUMOS14 snippet features (e.g. two-stream I3D, 2048-d, one snippet
# every few frames) with the annotation JSON in seconds; proposals are multi-scale sliding
# windows unless `proposal_file` points to a TAG list in frames (the 0.x denormalised list).
# Layout (see docs/ssn.md):
#   data/thumos14/features/<video_id>.npy              (C, T) float
#   data/thumos14/annotations/thumos14_anno_action.json {video_id: {subset, duration_second,
#       duration_frame, fps, annotations: [{segment: [s, e], class|label: name}]}}
# THUMOS14 convention: train on the validation videos (subset 'train' in this JSON),
# test on the test videos.
_base_ = ['../../_base_/models/ssn_feature.py', '../../_base_/default_runtime.py']

data_root = 'data/thumos14/features'
ann_file = 'data/thumos14/annotations/thumos14_anno_action.json'
classes = [
    'BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving',
    'CricketBowling', 'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow',
    'HighJump', 'JavelinThrow', 'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty',
    'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking'
]
window_frames = (16, 32, 64, 128, 256, 512)
window_stride = 0.25
snippet_frames = 4  # frames per feature snippet (test frames are sampled at this step)

model = dict(backbone=dict(in_channels=2048, hidden=(512, )),
             cls_head=dict(in_channels=512, num_classes=20))

# model logic the dataset runs (mmloc/models/task_modules): proposals when no proposal_file
# is given, their assignment and the per-video sampling (spec §5.2 defaults)
proposal_generator = dict(type='SSNSlidingWindowProposals', window_frames=window_frames,
                          stride_ratio=window_stride)
_dataset = dict(type='SSNFeatureDataset', ann_file=ann_file, class_names=classes,
                data_prefix=dict(video=data_root), proposal_generator=proposal_generator,
                proposal_file=None, assigner=dict(type='SSNProposalAssigner'),
                sampler=dict(type='SSNProposalSampler'))
# what the data samples carry (see mmloc/datasets/transforms/ssn_formatting.py)
ssn_meta_keys = ('video_id', 'video_name', 'total_frames', 'fps', 'duration_second',
                 'reg_norm_consts', 'annotations')
train_pipeline = [
    dict(type='SampleProposalFrames', mode='train'),
    dict(type='SSNLoadFeatures'),
    dict(type='PackLocalizationInputs',
         keys=('proposal_labels', 'proposal_type', 'reg_targets', 'proposal_scale_factor'),
         meta_keys=ssn_meta_keys),
]
test_pipeline = [
    dict(type='SampleProposalFrames', mode='test', test_interval=snippet_frames),
    dict(type='SSNLoadFeatures'),
    dict(type='PackLocalizationInputs',
         keys=('relative_proposals', 'proposal_ticks', 'proposal_scale_factor'),
         meta_keys=ssn_meta_keys),
]
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, subset='train', pipeline=train_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, subset='test', test_mode=True, pipeline=test_pipeline,
                 reg_normalize_constants=dict(subset='train')))
val_evaluator = dict(type='DetectionMetric', protocol='thumos14',
                     tiou_thresholds=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
                     average_over=[0.3, 0.4, 0.5, 0.6, 0.7], classes=classes)

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
