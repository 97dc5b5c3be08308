# AFSD, THUMOS14, RGB + flow fusion (test only; spec §5.3): the RGB net (3 channels) and the
# flow net (2 channels) see the same window, and their raw outputs are averaged before
# decoding, as AFSD's `test.py --fusion` does. Inputs are the RGB and flow frame arrays of
# each video concatenated along channels (RGB first: fusion_channels = 3).
# The checkpoint is one merged file (net.* = RGB, fusion_net.* = flow):
#   python tools/misc/merge_afsd_fusion_checkpoint.py RGB.pth FLOW.pth --out FUSION.pth
#   python tools/test.py configs/localization/afsd/afsd_i3d_thumos14_fusion.py FUSION.pth \
#       --eval mAP --out fusion.json
# Train each stream with afsd_i3d_thumos14_rgb.py / afsd_i3d_thumos14_flow.py.
_base_ = ['./afsd_i3d_thumos14_rgb.py']

data_root = 'data/thumos14_afsd'
modalities = ('rgb', 'flow')
# The merged checkpoint holds both whole networks: no I3D initialisation at test time.
model = dict(
    net=dict(backbone=dict(in_channels=3, pretrained=None)),
    fusion_net=dict(type='AFSDNet', num_classes=21, clip_length=256, crop_size=96, width=512,
                    num_levels=6, gn_groups=32, freeze_bn=True,
                    backbone=dict(type='InceptionI3d', in_channels=2, pretrained=None),
                    neck=dict(type='AFSDFramePyramid'), head=dict(type='AFSDHead')),
    fusion_channels=3)

# the RGB test pipeline (centre crop, packing) after a loader of both streams
test_pipeline = [
    dict(type='LoadAFSDFrames', modalities=modalities),   # (T, 112, 112, 3 + 2) uint8
    *_base_.test_pipeline[1:],
]
val_dataloader = dict(dataset=dict(
    modalities=modalities, pipeline=test_pipeline,
    data_prefix=dict(_delete_=True, rgb=f'{data_root}/frames/rgb',
                     flow=f'{data_root}/frames/flow')))
test_dataloader = val_dataloader

# Test only: each stream trains on its own config (the fused model has no joint loss).
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
