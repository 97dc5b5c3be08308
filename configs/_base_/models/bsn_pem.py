# BSN Proposal Evaluation Module (MMAction2 configs/_base_/models/bsn_pem.py).
# weighted_loss=False keeps MMAction2's loss (plain mean Smooth-L1, spec §4.4).
model = dict(
    type='PEM',
    pem_feat_dim=32,
    pem_hidden_dim=256,
    pem_u_ratio_m=1,
    pem_u_ratio_l=2,
    pem_high_temporal_iou_threshold=0.6,
    pem_low_temporal_iou_threshold=0.2,
    soft_nms_alpha=0.75,
    soft_nms_low_threshold=0.65,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100,
    weighted_loss=False)
