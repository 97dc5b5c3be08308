# ActionFormer on the synthetic THUMOS-like set (`make actionformer-demo`, CPU, minutes):
#   python tools/data/synthetic/generate_features.py data/synthetic_actionformer \
#       --num-train 80 --num-val 30 --feat-dim 32 --num-classes 4 --steps 60 320 \
#       --max-actions 4 --coverage 0.02 0.35 --noise 0.6
# Variable-length videos (60..320 features, 10 fps, stride 4, window 8) with up to 4 actions
# of 4 classes covering 2..35% of a video. A small model (D 64, 5 levels, window 5) with the
# official recipe (AdamW, warm-up + cosine, EMA, clipping, Soft-NMS), THUMOS-style mAP.
_base_ = ['./actionformer_i3d_thumos14.py']

data_root = 'data/synthetic_actionformer'
max_seq_len = 320
warmup_epochs = 3
epochs = 27
max_epochs = 30
_d = 64
model = dict(
    num_classes=4, max_seq_len=max_seq_len, max_buffer_len_factor=2.0,
    regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 32), (32, 10000)],
    backbone=dict(in_channels=32, dim=_d, max_len=max_seq_len, arch=(2, 2, 4), windows=5),
    neck=dict(dim=_d, num_levels=5), cls_head=dict(in_channels=_d, dim=_d),
    reg_head=dict(in_channels=_d, dim=_d, num_levels=5),
    loss=dict(init_loss_norm=20))
_meta = ('video_name', 'duration_second', 'annotations')
train_pipeline = [
    dict(type='LoadLocalizationFeature', cache=True),
    dict(type='SegmentsToGrid', unit='index', clip=False),
    dict(type='TruncateFeature', max_length=max_seq_len, trunc_thresh=0.5,
         crop_ratio=(0.9, 1.0), clip='widened'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'), meta_keys=_meta),
]
test_pipeline = [dict(type='LoadLocalizationFeature', cache=True),
                 dict(type='PackLocalizationInputs', keys=(), meta_keys=_meta)]
_dataset = dict(type='FeatureDataset', ann_file=f'{data_root}/annotations.json',
                data_prefix=dict(feature=f'{data_root}/features'), feature_name_tmpl='{}.npy',
                feat_stride=4, feat_num_frames=8, fit_mode=None)
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    batch_size=4, collate_fn=dict(type='localization_collate', pad_to_length=max_seq_len),
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
train_cfg = dict(max_epochs=max_epochs, val_begin=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(type='LoggerHook', interval=20),
                     checkpoint=dict(type='CheckpointHook', interval=max_epochs, save_best=None))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
work_dir = 'work_dirs/actionformer_synthetic_demo'
