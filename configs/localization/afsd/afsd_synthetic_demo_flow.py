# The synthetic CPU demo on the flow arrays (2 channels) instead of RGB: the flow stream for
# the fusion demo (afsd_synthetic_fusion.py).
#   python tools/train.py configs/localization/afsd/afsd_synthetic_demo_flow.py
_base_ = ['./afsd_synthetic_demo.py']

data_dir = 'data/synthetic_afsd'
model = dict(net=dict(backbone=dict(in_channels=2)))
train_dataloader = dict(dataset=dict(data_prefix=dict(frames=f'{data_dir}/frames/flow')))
val_dataloader = dict(dataset=dict(data_prefix=dict(frames=f'{data_dir}/frames/flow')))
test_dataloader = val_dataloader
work_dir = './work_dirs/afsd_synthetic_demo_flow'
