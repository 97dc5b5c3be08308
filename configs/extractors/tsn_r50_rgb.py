# TSN-style ResNet-50 (the SSN backbone) RGB snippet features: 2048-d per frame (spatial mean
# of the last map), averaged over 8 frames spread evenly in each 16-frame snippet.
# Weights: an MMAction2 TSN R50 checkpoint or torchvision's ImageNet ResNet-50 (--checkpoint).
model = dict(
    type='VideoFeatureExtractor', kind='2d', feat_dim=2048,
    backbone=dict(type='SSNResNet', depth=50, partial_bn=False),
    crop_size=224, mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375),
    channels=(0, 1, 2), checkpoint_layout='resnet')
sampling = dict(fps=None, window=16, stride=16, frames_per_snippet=8)
decode = dict(short_side=256)
batch_size = 2
