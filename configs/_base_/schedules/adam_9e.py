# BMN schedule (MMAction2 1.x): Adam 1e-3, L2 1e-4, x0.1 after epoch 7, 9 epochs, clip 40.
max_epochs = 9
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=1, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    optimizer=dict(type='Adam', lr=0.001, weight_decay=0.0001),
    clip_grad=dict(max_norm=40, norm_type=2))

param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[7], gamma=0.1)
]

# lr 1e-3 was tuned for 2 GPUs x 8 videos
auto_scale_lr = dict(enable=False, base_batch_size=16)
