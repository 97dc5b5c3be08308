# AFSD end to end on tiny generated clips: trains and tests on 2 CPU cores in a few minutes.
# Same model as the paper's (pyramid, coarse stage, boundary pooling, refinement, contrastive
# loss, Soft-NMS), scaled down as in spec §8.1: L = 32 frames, 32 x 32 crops of 40 x 40 frames,
# a small 3D-conv backbone instead of I3D, 4 levels of width 32, 2 classes.
#   python tools/data/synthetic/generate_afsd_clips.py data/synthetic_afsd
#   python tools/train.py configs/localization/afsd/afsd_synthetic_demo.py
#   python tools/test.py configs/localization/afsd/afsd_synthetic_demo.py \
#       work_dirs/afsd_synthetic_demo/epoch_12.pth --eval mAP --out results.json
_base_ = ['../../_base_/default_runtime.py']

data_dir = 'data/synthetic_afsd'
# read by demo drivers to (re)generate the data set
synthetic_data = dict(out_dir=data_dir, num_train=60, num_test=30, seed=0, num_classes=2)
clip_length = 32
crop = 32
max_epochs = 12

model = dict(
    type='AFSD',
    net=dict(type='AFSDNet', num_classes=3, clip_length=clip_length, crop_size=crop, width=32,
             num_levels=4, gn_groups=8, freeze_bn=False,
             backbone=dict(type='TinyVideoBackbone', in_channels=3, c4_channels=32,
                           c5_channels=64, base_channels=16),
             neck=dict(type='AFSDFramePyramid'), head=dict(type='AFSDHead')),
    loss=dict(type='AFSDLoss', lw=10.0, cw=1.0, piou=0.5, ssl=0.1),
    test_cfg=dict(clip_stride=16, conf_thresh=0.01, nms_sigma=0.5, top_k=5000,
                  score_threshold=0.001, pad_value=0.0, windows_per_batch=8))

_files = dict(video_info_file=f'{data_dir}/thumos_annotations/val_video_info.csv',
              ann_file=f'{data_dir}/thumos_annotations/val_Annotation_ours.csv',
              class_index_file=f'{data_dir}/thumos_annotations/Class_Index_Detection.txt',
              data_prefix=dict(frames=f'{data_dir}/frames/rgb'))
_test_files = dict(_files,
                   video_info_file=f'{data_dir}/thumos_annotations/test_video_info.csv',
                   ann_file=f'{data_dir}/thumos_annotations/test_Annotation_ours.csv')
train_pipeline = [
    dict(type='LoadAFSDFrames'),
    dict(type='AFSDRandomCrop', size=crop),
    dict(type='AFSDRandomFlip', p=0.5),
    dict(type='AFSDBoundaryLabels'),
    dict(type='AFSDContrastiveClip'),
    dict(type='PackLocalizationInputs',
         keys=('gt_segments', 'gt_labels', 'start_labels', 'end_labels', 'ssl_imgs',
               'ssl_segments'),
         meta_keys=('video_name', 'offset', 'sample_fps', 'sample_count', 'clip_length',
                    'feature_stride', 'input_type')),
]
test_pipeline = [
    dict(type='LoadAFSDFrames'),
    dict(type='AFSDCenterCrop', size=crop),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'),
         meta_keys=('video_name', 'sample_fps', 'sample_count', 'clip_length',
                    'feature_stride', 'input_type', 'annotations')),
]
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
    dataset=dict(type='ThumosAFSDDataset', clip_length=clip_length, clip_stride=8,
                 pipeline=train_pipeline, **_files))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ThumosAFSDDataset', clip_length=clip_length, test_mode=True,
                 pipeline=test_pipeline, **_test_files))
test_dataloader = val_dataloader
val_evaluator = dict(type='DetectionMetric', protocol='thumos14')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
                        milestones=[9], gamma=0.1)]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
work_dir = './work_dirs/afsd_synthetic_demo'
