# torchvision's R(2+1)D-18 (512-d), registered only when torchvision is installed. Other
# torchvision video models: --cfg-options model.backbone.arch=r3d_18 | s3d | mvit_v2_s |
# swin3d_t ... together with model.feat_dim (mmloc.models.extractors.TORCHVISION_VIDEO_ARCHS).
# Weights: torchvision's KINETICS400_V1 file for the arch (--checkpoint).
model = dict(
    type='VideoFeatureExtractor', kind='3d', feat_dim=512,
    backbone=dict(type='TorchvisionVideoBackbone', arch='r2plus1d_18'),
    crop_size=112, mean=(110.2008, 100.63983, 95.99475), std=(58.14765, 56.46975, 55.332195),
    channels=(0, 1, 2), checkpoint_layout='torchvision')
sampling = dict(fps=None, window=16, stride=16, frames_per_snippet=16)
decode = dict(short_side=128)
batch_size = 4
