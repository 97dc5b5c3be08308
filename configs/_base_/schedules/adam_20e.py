# BSN TEM schedule (MMAction2 1.x): Adam 1e-3, L2 1e-4, x0.1 after epochs 7 and 14,
# 20 epochs, clip 40, validation after the last epoch only. PEM configs set lr 1e-2,
# L2 1e-5 and one step after epoch 10.
max_epochs = 20
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=0.001, weight_decay=0.0001),
                     clip_grad=dict(max_norm=40, norm_type=2))
param_scheduler = [dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
                        milestones=[7, 14], gamma=0.1)]
