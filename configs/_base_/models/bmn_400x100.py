# BMN for 100 x 400 ActivityNet features (MMAction2 / paper defaults, spec §3.1).
# bm_layer='fused' is the sparse BM sampling fused with the first Conv3d (same parameters
# and outputs as the dense path); 'dense' selects MMAction2's dense mask for verification.
model = dict(
    type='BMN',
    temporal_dim=100,
    boundary_ratio=0.5,
    num_samples=32,
    num_samples_per_bin=3,
    feat_dim=400,
    soft_nms_alpha=0.4,
    soft_nms_low_threshold=0.5,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100,
    feature_extraction_interval=16,
    hidden_dim_1d=256,
    hidden_dim_2d=128,
    hidden_dim_3d=512,
    bm_layer='fused')
# loss: BMN's whole loss, BMNLoss (TEM + 10 * PEM_reg + PEM_cls) when not given; set it with
# model = dict(loss=dict(type='BMNLoss', ...)). MMAction2's name for it, loss_cls, is accepted
# as a deprecated alias (not named here, so a config inheriting this one may use either).
