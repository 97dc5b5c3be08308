# SSN (ResNet-50, RGB) on THUMOS14 raw frames + TAG proposals, MMAction2 0.x defaults:
# 8 GPUs x 1 video, SGD lr 0.001 momentum 0.9 wd 1e-6, clip 35, x0.1 at epochs 200/400, 450 epochs.
# Data as 0.x users have it: data/thumos14/rawframes/{val,test}/<video_id>/img_%05d.jpg and the
# denormalised proposal lists in data/thumos14/proposals/ (see docs/ssn.md).
_base_ = ['../../_base_/models/ssn_r50.py', '../../_base_/default_runtime.py']

data_root = 'data/thumos14/rawframes/'
ann_file_train = 'data/thumos14/proposals/thumos14_tag_val_proposal_list.txt'

# what the data samples carry (see mmloc/datasets/transforms/ssn_formatting.py)
ssn_meta_keys = ('video_id', 'video_name', 'total_frames', 'fps', 'duration_second',
                 'reg_norm_consts', 'annotations')
train_pipeline = [
    dict(type='SampleProposalFrames', body_segments=5, aug_segments=(2, 2),
         aug_ratio=(0.5, 0.5), clip_len=1, frame_interval=1, mode='train'),
    dict(type='SSNLoadFrames', filename_tmpl='img_{:05}.jpg', scale=(340, 256), crop_size=224,
         mean=(104, 117, 128), std=(1, 1, 1), to_bgr=True),  # BGR mean on BGR frames, as 0.x
    dict(type='PackLocalizationInputs',
         keys=('proposal_labels', 'proposal_type', 'reg_targets', 'proposal_scale_factor'),
         meta_keys=ssn_meta_keys),
]
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='SSNDataset', ann_file=ann_file_train, data_prefix=dict(video=data_root + 'val'),
        pipeline=train_pipeline, fps=30.0, filter_gt=True, video_centric=True,
        # proposal assignment and sampling: task modules of the model (spec §5.2)
        assigner=dict(type='SSNProposalAssigner', positive_iou_threshold=0.7,
                      background_iou_threshold=0.01, incomplete_iou_threshold=0.3,
                      background_coverage_threshold=0.02, incomplete_overlap_threshold=0.01),
        sampler=dict(type='SSNProposalSampler', num_per_video=8, positive_ratio=1,
                     background_ratio=1, incomplete_ratio=6, add_gt_as_proposals=True),
        aug_ratio=(0.5, 0.5)))

max_epochs = 450
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
val_dataloader = None
val_evaluator = None
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-6),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[200, 400],
         gamma=0.1)
]
# 0.x used find_unused_parameters=True (the test-only path is not used in training).
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(checkpoint=dict(interval=5, save_best=None, max_keep_ckpts=5))
work_dir = './work_dirs/ssn_r50_450e_thumos14_rgb'
