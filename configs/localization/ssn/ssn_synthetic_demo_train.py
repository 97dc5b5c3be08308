# SSN on the seeded synthetic THUMOS-like feature set: trains on 2 CPU cores in minutes.
#   python tools/data/synthetic/generate_thumos.py data/synthetic_thumos
#   python tools/train.py configs/localization/ssn/ssn_synthetic_demo_train.py
#   python tools/test.py configs/localization/ssn/ssn_synthetic_demo_test.py \
#       work_dirs/ssn_synthetic_demo/epoch_150.pth --eval mAP --out work_dirs/ssn_synthetic_demo/results.json
# Pipelines and metric as on THUMOS14 (_base_/datasets/thumos14_feature_ssn.py) with this
# set's classes, windows and snippet step.
_base_ = ['../../_base_/models/ssn_feature.py', '../../_base_/datasets/thumos14_feature_ssn.py',
          '../../_base_/default_runtime.py']

data_dir = 'data/synthetic_thumos'
feat_dim = 64
classes = ['SynthAction00', 'SynthAction01', 'SynthAction02', 'SynthAction03', 'SynthAction04']
# proposals: sliding windows (frames, 30 fps) covering the 2-10 s synthetic actions
window_frames = (48, 64, 96, 128, 192, 256, 384)
window_stride = 0.2
snippet_frames = 8

model = dict(
    backbone=dict(in_channels=feat_dim, hidden=(128, )),
    cls_head=dict(in_channels=128, num_classes=len(classes)),
    dropout_ratio=0.5)

proposal_generator = dict(type='SSNSlidingWindowProposals', window_frames=window_frames,
                          stride_ratio=window_stride)
_dataset = dict(type='SSNFeatureDataset', class_names=classes, data_prefix=dict(
    video=f'{data_dir}/features'), proposal_generator=proposal_generator)
# the THUMOS14 pipelines; test frames are sampled at this set's snippet step
test_pipeline = [
    dict(type='SampleProposalFrames', mode='test', test_interval=snippet_frames),
    *_base_.test_pipeline[1:],
]
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=4, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, ann_file=f'{data_dir}/thumos_anno_train.json',
                 pipeline=_base_.train_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, ann_file=f'{data_dir}/thumos_anno_val.json', test_mode=True,
                 pipeline=test_pipeline,
                 reg_normalize_constants=dict(ann_file=f'{data_dir}/thumos_anno_train.json')))
val_evaluator = dict(classes=classes)

max_epochs = 150
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.001, weight_decay=1e-5),
                     clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[120],
         gamma=0.1)
]
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=50, save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
work_dir = './work_dirs/ssn_synthetic_demo'
