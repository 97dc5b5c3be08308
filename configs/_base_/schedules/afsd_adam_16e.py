# AFSD, THUMOS14 (spec §6): Adam, lr 1e-5, L2 weight decay 1e-3, 16 epochs, no schedule /
# warm-up / clipping; validation from epoch 13, seed 2020. The feature-based config raises
# lr only. (default_hooks stay in the configs: default_runtime.py defines them.)
max_epochs = 16
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=13, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-5, weight_decay=1e-3))
param_scheduler = []
randomness = dict(seed=2020)
