# TriDet on the synthetic THUMOS-like set (`make actionformer-demo`; data as in
# configs/localization/actionformer/actionformer_synthetic_demo.py). Small model: D 64,
# 5 levels, SGP window 3 (k 1.5), live SGP branches (init std 0.1), 8 bins.
_base_ = ['../actionformer/actionformer_synthetic_demo.py']

_d = 64
_head = dict(in_channels=_d, dim=_d)
model = dict(
    _delete_=True, type='TriDet', num_classes=4, max_seq_len=320, max_buffer_len_factor=2.0,
    regression_ranges=[(0, 4), (4, 8), (8, 16), (16, 32), (32, 10000)],
    center_sample='radius', center_sample_radius=1.5, input_noise=0.0005,
    backbone=dict(type='TriDetBackbone', in_channels=32, dim=_d, max_len=320, arch=(2, 2, 4),
                  windows=3, k=1.5, mlp_dim=96, drop_path=0.1, init_conv_vars=0.1),
    neck=dict(type='ActionFormerNeck', dim=_d, num_levels=5),
    cls_head=dict(type='ActionFormerClsHead', **_head),
    start_head=dict(type='ActionFormerClsHead', detach_feat=True, **_head),
    end_head=dict(type='ActionFormerClsHead', detach_feat=True, **_head),
    reg_head=dict(type='ActionFormerRegHead', num_levels=5, num_bins=8, **_head),
    loss=dict(type='TriDetLoss', init_loss_norm=20, iou_weight_power=0.2),
    test_cfg=dict(pre_nms_thresh=0.001, pre_nms_topk=2000, duration_thresh=0.05,
                  nms_method='soft', iou_threshold=0.1, min_score=0.001, max_seg_num=200,
                  multiclass_nms=True, nms_sigma=0.5, voting_thresh=0.7))
_meta = ('video_name', 'duration_second', 'annotations')
train_pipeline = [   # TriDet clips GT to the crop window itself
    dict(type='LoadLocalizationFeature', cache=True),
    dict(type='SegmentsToGrid', unit='index', clip=False),
    dict(type='TruncateFeature', max_length=320, trunc_thresh=0.5, crop_ratio=(0.9, 1.0),
         clip='window'),
    dict(type='PackLocalizationInputs', keys=('gt_segments', 'gt_labels'), meta_keys=_meta),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
work_dir = 'work_dirs/tridet_synthetic_demo'
