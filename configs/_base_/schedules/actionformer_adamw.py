# ActionFormer / TriDet optimisation (actionformer-spec §4.4): AdamW, no weight decay on
# biases, norm weights, Scale.scale and LayerScale (AffineDropPath.scale); linear warm-up
# from lr 0 then cosine to eta_min, stepped every iteration; gradient clipping (L2 1.0);
# model EMA 0.999 (mmengine's momentum 0.001), which the saved checkpoints hold.
warmup_epochs = 5
epochs = 30
max_epochs = warmup_epochs + epochs
lr = 1e-4
weight_decay = 0.05
eta_min = 1e-8
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=weight_decay),
    clip_grad=dict(max_norm=1.0, norm_type=2),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0,
                       custom_keys={'norm': dict(decay_mult=0.0),
                                    'ln1': dict(decay_mult=0.0),
                                    'ln2': dict(decay_mult=0.0),
                                    '.ln.': dict(decay_mult=0.0),
                                    'scale': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearWarmupLR', begin=0, end=warmup_epochs, by_epoch=True,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', begin=warmup_epochs, end=max_epochs, T_max=epochs,
         eta_min=eta_min, by_epoch=True, convert_to_iter_based=True),
]
custom_hooks = [dict(type='LocalizationEMAHook', ema_type='ExponentialMovingAverage', momentum=0.001,
                     update_buffers=True, priority=49)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_begin=max_epochs,
                 val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
randomness = dict(seed=1234567891)
