"""Tiny BMN / TEM / PEM configs (T=16, narrow layers) and seeded checkpoints for the tests of
inference, plots and export. Imported by the conftest files of tests/apis, tests/visualization
and tests/deployment."""
import torch

T, C = 16, 16

CONFIGS = {
    'BMN': f"""
model = dict(type='BMN', temporal_dim={T}, boundary_ratio=0.5, num_samples=4,
             num_samples_per_bin=2, feat_dim={C}, soft_nms_alpha=0.4,
             soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=20,
             hidden_dim_1d=16, hidden_dim_2d=16, hidden_dim_3d=16, bm_layer='fused',
             loss=dict(type='BMNLoss'))
""",
    'TEM': f"""
model = dict(type='TEM', temporal_dim={T}, boundary_ratio=0.1, tem_feat_dim={C},
             tem_hidden_dim=32, tem_match_threshold=0.5)
""",
    'PEM': """
model = dict(type='PEM', pem_feat_dim=32, pem_hidden_dim=16, soft_nms_alpha=0.75,
             soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=20)
""",
}


def make_tiny(kind, root, seed=0, scale=0.5):
    """Write ``<kind>_tiny.py`` and a seeded ``<kind>_tiny.pth`` (mmengine layout) in ``root``.

    Returns ``dict(config=path, checkpoint=path, T, C)``.
    """
    from mmengine.config import Config

    from mmloc.registry import MODELS
    from mmloc.utils import register_all_modules
    register_all_modules()
    config = root / f'{kind.lower()}_tiny.py'
    config.write_text(CONFIGS[kind])
    model = MODELS.build(Config.fromfile(str(config)).model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    ckpt = root / f'{kind.lower()}_tiny.pth'
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()}, str(ckpt))
    return dict(config=str(config), checkpoint=str(ckpt), T=T, C=C)
