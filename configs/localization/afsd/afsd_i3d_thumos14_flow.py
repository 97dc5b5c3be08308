# AFSD, THUMOS14, flow stream: TV-L1 flow arrays (uint8 T x 112 x 112 x 2), 2 input channels,
# I3D init from models/i3d_models/flow_imagenet.pt (spec §1.2).
_base_ = ['./afsd_i3d_thumos14_rgb.py']

modality = 'flow'
data_root = 'data/thumos14_afsd'
model = dict(net=dict(backbone=dict(in_channels=2,
                                    pretrained='models/i3d_models/flow_imagenet.pt')))
train_dataloader = dict(dataset=dict(data_prefix=dict(frames=f'{data_root}/frames/flow')))
val_dataloader = dict(dataset=dict(data_prefix=dict(frames=f'{data_root}/frames/flow')))
test_dataloader = val_dataloader
