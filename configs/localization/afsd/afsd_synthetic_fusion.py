# RGB + flow fusion of the synthetic CPU demo (test only): the demo's RGB net and the flow
# net of afsd_synthetic_demo_flow.py, raw outputs averaged per window (spec §5.3).
#   python tools/misc/merge_afsd_fusion_checkpoint.py \
#       work_dirs/afsd_synthetic_demo/epoch_12.pth work_dirs/afsd_synthetic_demo_flow/epoch_12.pth \
#       --out work_dirs/afsd_synthetic_fusion.pth --config configs/localization/afsd/afsd_synthetic_fusion.py
#   python tools/test.py configs/localization/afsd/afsd_synthetic_fusion.py \
#       work_dirs/afsd_synthetic_fusion.pth --eval mAP --out work_dirs/afsd_synthetic_fusion.json
_base_ = ['./afsd_synthetic_demo.py']

data_dir = 'data/synthetic_afsd'
modalities = ('rgb', 'flow')
model = dict(
    net=dict(backbone=dict(in_channels=3)),
    fusion_net=dict(type='AFSDNet', num_classes=3, clip_length=32, crop_size=32, width=32,
                    num_levels=4, gn_groups=8, freeze_bn=False,
                    backbone=dict(type='TinyVideoBackbone', in_channels=2, c4_channels=32,
                                  c5_channels=64, base_channels=16),
                    neck=dict(type='AFSDFramePyramid'), head=dict(type='AFSDHead')),
    fusion_channels=3)

# the demo's test pipeline (centre crop, packing) after a loader of both streams
test_pipeline = [
    dict(type='LoadAFSDFrames', modalities=modalities),   # (T, 40, 40, 3 + 2) uint8
    *_base_.test_pipeline[1:],
]
val_dataloader = dict(dataset=dict(
    modalities=modalities, pipeline=test_pipeline,
    data_prefix=dict(_delete_=True, rgb=f'{data_dir}/frames/rgb', flow=f'{data_dir}/frames/flow')))
test_dataloader = val_dataloader

train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
work_dir = './work_dirs/afsd_synthetic_fusion'
