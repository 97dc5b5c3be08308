# ActionFormer on your own data set, the walk-through of docs/custom_dataset.md: videos ->
# tools/data/extract_features.py (configs/extractors/tiny3d_rgb_demo.py: 64-d, 10 fps,
# window 8, stride 4) -> data/my_features/, labels -> tools/data/convert_annotations.py ->
# data/my_set/annotations.json (subsets 'training' / 'validation'), then check, train, test.
# Paths are relative to the directory the tools run from. For your own data change the
# feature width (in_channels), num_classes, the sampling (feat_stride / feat_num_frames =
# the extractor's stride / window) and max_seq_len (at least the longest video's rows, a
# multiple of 2 ** (num_levels - 1)).
# Sized for the synthetic demo set (24 videos of 12 s, 3 classes, tests/video): a small model
# (D 32, 4 levels, window 5) and a short schedule that trains on 2 CPU cores in about a minute.
_base_ = ['./actionformer_i3d_thumos14.py']

data_root = 'data'
feat_dim = 64
num_classes = 3
max_seq_len = 32
warmup_epochs = 2
epochs = 18
max_epochs = warmup_epochs + epochs
_d = 32
model = dict(
    num_classes=num_classes, max_seq_len=max_seq_len, max_buffer_len_factor=1.0,
    regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 10000)],
    backbone=dict(in_channels=feat_dim, dim=_d, max_len=max_seq_len, arch=(2, 2, 3),
                  windows=5, drop_path=0.0),
    neck=dict(dim=_d, num_levels=4), cls_head=dict(in_channels=_d, dim=_d),
    reg_head=dict(in_channels=_d, dim=_d, num_levels=4),
    loss=dict(init_loss_norm=5))
_meta = ('video_name', 'duration_second', 'annotations')
# the random demo extractor's features are a near-constant vector (StandardizeFeature says
# why); drop StandardizeFeature for a trained extractor's features
train_pipeline = [
    dict(type='LoadLocalizationFeature', cache=True),
    dict(type='StandardizeFeature'),
    dict(type='SegmentsToGrid', unit='index', clip=False),
    dict(type='TruncateFeature', max_length=max_seq_len, trunc_thresh=0.5,
         crop_ratio=(0.9, 1.0), clip='widened'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'), meta_keys=_meta),
]
test_pipeline = [dict(type='LoadLocalizationFeature', cache=True), dict(type='StandardizeFeature'),
                 dict(type='PackLocalizationInputs', keys=(), meta_keys=_meta)]
_dataset = dict(type='FeatureDataset', ann_file=f'{data_root}/my_set/annotations.json',
                data_prefix=dict(feature=f'{data_root}/my_features'),
                feature_name_tmpl='{}.npy', feat_stride=4, feat_num_frames=8, fit_mode=None)
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    batch_size=2, collate_fn=dict(type='localization_collate', pad_to_length=max_seq_len),
    dataset=dict(_dataset, subset='training', pipeline=train_pipeline, _delete_=True),
    **_loader)
val_dataloader = dict(batch_size=1, dataset=dict(_dataset, subset='validation', test_mode=True,
                                                 pipeline=test_pipeline, _delete_=True),
                      **_loader)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=1e-8, by_epoch=True, convert_to_iter_based=True),
]
# about 10 iterations an epoch: an EMA of 0.999 would keep the initial weights
custom_hooks = [dict(type='LocalizationEMAHook', ema_type='ExponentialMovingAverage',
                     momentum=0.02, update_buffers=True, priority=49)]
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(type='LoggerHook', interval=20),
                     checkpoint=dict(type='CheckpointHook', interval=max_epochs, save_best=None))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
work_dir = 'work_dirs/actionformer_own_dataset_demo'
