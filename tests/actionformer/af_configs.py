"""Tiny ActionFormer / TriDet configs of the tests (C input channels, D width, K classes,
L = max_seq_len, 4 pyramid levels)."""

C, D, K, L = 12, 32, 3, 64
RANGES = [(0, 4), (4, 8), (8, 16), (16, 10000)]


def af_cfg(**kw):
    """ActionFormer, window 5, drop path 0.1; ``kw`` overrides top-level keys."""
    return dict(type='ActionFormer', num_classes=K, max_seq_len=L,
                backbone=dict(type='ActionFormerBackbone', in_channels=C, dim=D, max_len=L,
                              windows=5, arch=(2, 2, 3), drop_path=0.1),
                neck=dict(type='ActionFormerNeck', dim=D, num_levels=4),
                cls_head=dict(type='ActionFormerClsHead', in_channels=D, dim=D),
                reg_head=dict(type='ActionFormerRegHead', in_channels=D, dim=D, num_levels=4),
                loss=dict(type='ActionFormerLoss'), regression_ranges=RANGES, **kw)


def td_cfg(init_conv_vars=0.0, **kw):
    """TriDet, SGP window 3, 4 bins; ``kw`` overrides top-level keys."""
    head = dict(type='ActionFormerClsHead', in_channels=D, dim=D)
    return dict(type='TriDet', num_classes=K, max_seq_len=L,
                backbone=dict(type='TriDetBackbone', in_channels=C, dim=D, max_len=L, windows=3,
                              arch=(2, 2, 3), k=1.5, mlp_dim=48, init_conv_vars=init_conv_vars),
                neck=dict(type='ActionFormerNeck', dim=D, num_levels=4), cls_head=head,
                start_head=head, end_head=head,
                reg_head=dict(type='ActionFormerRegHead', in_channels=D, dim=D, num_levels=4,
                              num_bins=4),
                loss=dict(type='TriDetLoss'), regression_ranges=RANGES, **kw)
