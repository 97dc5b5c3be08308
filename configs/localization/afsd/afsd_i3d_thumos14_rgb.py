# AFSD, THUMOS14, RGB stream, end to end from 10 fps 112x112 frame arrays (spec §1, §6).
# Data: data/thumos14_afsd/thumos_annotations/ (AFSD's CSVs and class index) and
# data/thumos14_afsd/frames/rgb/<video>.npy (uint8 T x 112 x 112 x 3), see docs/afsd.md.
# I3D init: models/i3d_models/rgb_imagenet.pt (pytorch-i3d, local file, loaded strictly).
# Schedule (Adam, lr 1e-5, L2 weight decay 1e-3, 16 epochs, no schedule / warm-up / clipping,
# spec §6): _base_/schedules/afsd_adam_16e.py.
_base_ = ['../../_base_/models/afsd_i3d.py', '../../_base_/schedules/afsd_adam_16e.py',
          '../../_base_/default_runtime.py']

data_root = 'data/thumos14_afsd'
modality = 'rgb'
clip_length = 256
crop = 96

_ann = 'thumos_annotations'
_train_files = dict(video_info_file=f'{data_root}/{_ann}/val_video_info.csv',
                    ann_file=f'{data_root}/{_ann}/val_Annotation_ours.csv',
                    class_index_file=f'{data_root}/{_ann}/Class_Index_Detection.txt',
                    data_prefix=dict(frames=f'{data_root}/frames/{modality}'))
_test_files = dict(_train_files, video_info_file=f'{data_root}/{_ann}/test_video_info.csv',
                   ann_file=f'{data_root}/{_ann}/test_Annotation_ours.csv')
train_pipeline = [
    dict(type='LoadAFSDFrames'),
    dict(type='AFSDRandomCrop', size=crop),   # offsets uniform in [0, 16]
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
    dict(type='AFSDCenterCrop', size=crop),   # offset 8
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'),
         meta_keys=('video_name', 'sample_fps', 'sample_count', 'clip_length',
                    'feature_stride', 'input_type', 'annotations')),
]
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
    dataset=dict(type='ThumosAFSDDataset', clip_length=clip_length, clip_stride=30,
                 pipeline=train_pipeline, **_train_files))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ThumosAFSDDataset', clip_length=clip_length, test_mode=True,
                 pipeline=test_pipeline, **_test_files))
test_dataloader = val_dataloader
val_evaluator = dict(type='DetectionMetric', protocol='thumos14')
test_evaluator = val_evaluator

# a checkpoint every epoch, the last 4 kept
default_hooks = dict(checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=4))
