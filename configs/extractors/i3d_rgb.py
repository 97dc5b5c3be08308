# I3D (Inception-v1, the AFSD backbone) RGB snippet features: 1024-d Mixed_5c, mean-pooled.
# Weights: pytorch-i3d's rgb_imagenet.pt or an AFSD release checkpoint (--checkpoint).
# A snippet: 16 consecutive frames of the video resampled to 25 fps, one every 16 frames
# (TimeGrid.from_features(T, fps=25, feat_stride=16, feat_num_frames=16)).
model = dict(
    type='VideoFeatureExtractor', kind='3d', feat_dim=1024, endpoint='Mixed_5c',
    backbone=dict(type='InceptionI3d', in_channels=3, out_endpoints=('Mixed_5c', )),
    crop_size=224, mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5),  # to [-1, 1]
    channels=(0, 1, 2), checkpoint_layout='i3d')
sampling = dict(fps=25, window=16, stride=16, frames_per_snippet=16)
decode = dict(short_side=256)
batch_size = 4
