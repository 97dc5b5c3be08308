# A tiny 3-D conv extractor (AFSD's TinyVideoBackbone, 64-d) for CPU demos and tests on the
# synthetic videos (mmloc.testing.synthetic_video): random weights are allowed with
# --random-init, and a colour-and-motion signal survives them.
model = dict(
    type='VideoFeatureExtractor', kind='3d', feat_dim=64, endpoint='Mixed_5c',
    backbone=dict(type='TinyVideoBackbone', in_channels=3, c4_channels=32, c5_channels=64,
                  base_channels=8),
    crop_size=None, mean=(127.5, 127.5, 127.5), std=(64.0, 64.0, 64.0),
    channels=(0, 1, 2), checkpoint_layout='i3d')
sampling = dict(fps=10, window=8, stride=4, frames_per_snippet=8)
decode = dict(short_side=32)
batch_size = 8
