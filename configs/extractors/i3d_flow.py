# I3D flow snippet features (1024-d). The flow input is a video (or frames) whose first two
# channels hold the x / y flow mapped to 0..255 (the TV-L1 image convention), e.g. written by
# a flow tool beside the RGB video. Weights: pytorch-i3d's flow_imagenet.pt.
_base_ = ['./i3d_rgb.py']
model = dict(backbone=dict(in_channels=2), mean=(127.5, 127.5), std=(127.5, 127.5),
             channels=(0, 1))
