# AFSD on pre-extracted I3D snippet features (no frames needed): one 2048-d (RGB+flow) vector
# per 4 frames at 10 fps, stored as data/thumos14_afsd/features/<video>.npy float32 (T/4, 2048).
# Windows are the frame windows of the spec in feature steps (L = 256 frames = 64 steps).
_base_ = ['../../_base_/models/afsd_feature.py', '../../_base_/schedules/afsd_adam_16e.py',
          '../../_base_/default_runtime.py']

data_root = 'data/thumos14_afsd'
clip_length = 256
_ann = 'thumos_annotations'
_train_files = dict(video_info_file=f'{data_root}/{_ann}/val_video_info.csv',
                    ann_file=f'{data_root}/{_ann}/val_Annotation_ours.csv',
                    class_index_file=f'{data_root}/{_ann}/Class_Index_Detection.txt',
                    data_prefix=dict(frames=f'{data_root}/features'))
_test_files = dict(_train_files, video_info_file=f'{data_root}/{_ann}/test_video_info.csv',
                   ann_file=f'{data_root}/{_ann}/test_Annotation_ours.csv')
train_pipeline = [
    dict(type='LoadAFSDFrames'),
    dict(type='AFSDBoundaryLabels'),
    dict(type='PackLocalizationInputs',
         keys=('gt_segments', 'gt_labels', 'start_labels', 'end_labels', 'ssl_imgs',
               'ssl_segments'),
         meta_keys=('video_name', 'offset', 'sample_fps', 'sample_count', 'clip_length',
                    'feature_stride', 'input_type')),
]
test_pipeline = [
    dict(type='LoadAFSDFrames'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'),
         meta_keys=('video_name', 'sample_fps', 'sample_count', 'clip_length',
                    'feature_stride', 'input_type', 'annotations')),
]
train_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=8, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True), drop_last=True,
    dataset=dict(type='ThumosAFSDDataset', clip_length=clip_length, clip_stride=32,
                 feature_stride=4, pipeline=train_pipeline, **_train_files))
val_dataloader = dict(
    collate_fn=dict(type='localization_collate'),
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    # clip_stride is unused in test mode, but the dataset checks that it is a multiple of
    # feature_stride (the default 30 is not)
    dataset=dict(type='ThumosAFSDDataset', clip_length=clip_length, clip_stride=32,
                 feature_stride=4, test_mode=True, pipeline=test_pipeline, **_test_files))
test_dataloader = val_dataloader
val_evaluator = dict(type='DetectionMetric', protocol='thumos14')
test_evaluator = val_evaluator

# the RGB schedule (16 epochs, no lr schedule) at lr 1e-4
optim_wrapper = dict(optimizer=dict(lr=1e-4))

# a checkpoint every epoch, the last 4 kept
default_hooks = dict(checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=4))
