"""BMN model: MMAction2 checkpoint compatibility, fused == dense, loss/predict modes, AMP."""
import math
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.structures import InstanceData

from mmloc.models import BMN, bmn_candidates
from mmloc.models.utils import post_processing
from mmloc.structures import LocalizationDataSample, output_duration_s

T, N, P, C = 10, 4, 3, 8
CFG = dict(temporal_dim=T, boundary_ratio=0.5, num_samples=N, num_samples_per_bin=P,
           feat_dim=C, soft_nms_alpha=0.4, soft_nms_low_threshold=0.5,
           soft_nms_high_threshold=0.9, post_process_top_k=20, hidden_dim_1d=8,
           hidden_dim_2d=6, hidden_dim_3d=12)


def _loop_mask(tscale, num_samples, per_bin, ratio):
    mask = np.zeros((tscale, num_samples, tscale, tscale), dtype=np.float64)
    for s in range(tscale):
        for d in range(tscale - s):
            xmin = s - (d + 1.0) * ratio
            xmax = s + d + (d + 1.0) * ratio
            step = (xmax - xmin) / (num_samples * per_bin - 1.0)
            for k in range(num_samples * per_bin):
                x = xmin + step * k
                frac, down = math.modf(x)
                up = math.ceil(x)
                n = k // per_bin
                if 0 <= int(down) <= tscale - 1:
                    mask[int(down), n, d, s] += (1 - frac) / per_bin
                if 0 <= int(up) <= tscale - 1:
                    mask[int(up), n, d, s] += frac / per_bin
    return torch.tensor(mask.astype(np.float32).reshape(tscale, -1))


class ReferenceBMN(nn.Module):
    """Independent dense BMN with MMAction2's module names and checkpoint layout."""

    def __init__(self, tscale=T, with_bm_mask=True, c=C, h1=8, h2=6, h3=12, n=N):
        super().__init__()
        self.x_1d_b = nn.Sequential(nn.Conv1d(c, h1, 3, padding=1, groups=4), nn.ReLU(),
                                    nn.Conv1d(h1, h1, 3, padding=1, groups=4), nn.ReLU())
        self.x_1d_s = nn.Sequential(nn.Conv1d(h1, h1, 3, padding=1, groups=4), nn.ReLU(),
                                    nn.Conv1d(h1, 1, 1), nn.Sigmoid())
        self.x_1d_e = nn.Sequential(nn.Conv1d(h1, h1, 3, padding=1, groups=4), nn.ReLU(),
                                    nn.Conv1d(h1, 1, 1), nn.Sigmoid())
        self.x_1d_p = nn.Sequential(nn.Conv1d(h1, h1, 3, padding=1), nn.ReLU())
        self.x_3d_p = nn.Sequential(nn.Conv3d(h1, h3, (n, 1, 1)), nn.ReLU())
        self.x_2d_p = nn.Sequential(nn.Conv2d(h3, h2, 1), nn.ReLU(),
                                    nn.Conv2d(h2, h2, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(h2, h2, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(h2, 2, 1), nn.Sigmoid())
        self.sample_mask = nn.Parameter(_loop_mask(tscale, n, P, 0.5), requires_grad=False)
        if with_bm_mask:
            d, s = torch.meshgrid(torch.arange(tscale), torch.arange(tscale), indexing='ij')
            self.register_buffer('bm_mask', (s + d <= tscale - 1).float())
        self.tscale, self.n = tscale, n

    def forward(self, x):
        base = self.x_1d_b(x)
        start = self.x_1d_s(base).squeeze(1)
        end = self.x_1d_e(base).squeeze(1)
        feat = self.x_1d_p(base)
        bm = torch.matmul(feat, self.sample_mask).reshape(x.shape[0], feat.shape[1], self.n,
                                                          self.tscale, self.tscale)
        bm = self.x_2d_p(self.x_3d_p(bm).squeeze(2))
        return bm, start, end


def _samples(batch, rng, with_gt=True):
    out = []
    for i in range(batch):
        s = LocalizationDataSample(metainfo=dict(
            video_name=f'v_test{i}', duration_second=30.0 + 7 * i,
            duration_frame=900 + 211 * i, feature_frame=896 + 208 * i, annotations=[]))
        if with_gt:
            starts = rng.uniform(0, 0.6, 2)
            gt = np.stack([starts, starts + rng.uniform(0.1, 0.4, 2)], axis=1).clip(0, 1)
            s.gt_instances = InstanceData(segments=torch.tensor(gt, dtype=torch.float32))
        out.append(s)
    return out


@pytest.fixture
def reference():
    torch.manual_seed(0)
    return ReferenceBMN()


def test_state_dict_layout_and_no_constants():
    model = BMN(**CFG)
    keys = set(model.state_dict())
    assert 'sample_mask' not in keys and 'bm_mask' not in keys
    learned = {k for k in ReferenceBMN().state_dict() if k not in ('sample_mask', 'bm_mask')}
    assert keys == learned
    full = BMN(**{**CFG, 'temporal_dim': 100, 'num_samples': 32, 'feat_dim': 400,
                  'hidden_dim_1d': 256, 'hidden_dim_2d': 128, 'hidden_dim_3d': 512})
    assert sum(p.numel() for p in full.parameters()) == 4_978_564


def test_loss_argument_and_its_mmaction2_name_loss_cls():
    """``loss`` holds BMN's whole loss; MMAction2's ``loss_cls`` still works (deprecated)."""
    torch.manual_seed(0)
    model = BMN(**CFG, loss=dict(type='BMNLoss', nan_guard=False))
    assert model.loss_module.nan_guard is False
    torch.manual_seed(0)
    with pytest.warns(FutureWarning, match="loss_cls"):
        old = BMN(**CFG, loss_cls=dict(type='BMNLoss', nan_guard=False))
    assert old.loss_module.nan_guard is False
    assert BMN(**CFG).loss_module.nan_guard is True  # BMNLoss() when neither is given
    # the loss has no tensors: checkpoints (ours, MMAction2's) are unaffected by the name
    assert list(old.state_dict()) == list(model.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(old.state_dict().values(),
                                                  model.state_dict().values()))
    with pytest.raises(ValueError, match='not both'):
        BMN(**CFG, loss=dict(type='BMNLoss'), loss_cls=dict(type='BMNLoss'))


def test_mmaction2_style_config_with_loss_cls_over_our_base(tmp_path):
    from mmengine.config import Config

    from mmloc.registry import MODELS
    base = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                    'configs/_base_/models/bmn_400x100.py')
    cfg_file = tmp_path / 'user_bmn.py'
    cfg_file.write_text(f"_base_ = ['{base}']\n"
                        "model = dict(loss_cls=dict(type='BMNLoss', nan_guard=False))\n")
    with pytest.warns(FutureWarning, match="loss_cls"):
        model = MODELS.build(Config.fromfile(str(cfg_file)).model)
    assert model.loss_module.nan_guard is False


def test_temporal_dim_and_mmaction2_tscale():
    model = BMN(**CFG)
    assert model.temporal_dim == model.tscale == T
    with pytest.raises(AttributeError):
        model.tscale = 5


@pytest.mark.parametrize('bm_layer', ['fused', 'dense'])
@pytest.mark.parametrize('layout', ['1.x', '0.x'])
def test_mmaction2_checkpoint_loads_strict_and_matches(reference, bm_layer, layout):
    sd = reference.state_dict()
    if layout == '0.x':
        sd.pop('bm_mask')
    assert 'sample_mask' in sd
    model = BMN(**CFG, bm_layer=bm_layer)
    model.load_state_dict(sd, strict=True)
    x = torch.randn(3, C, T)
    with torch.no_grad():
        ours = model(x, mode='tensor')
        ref = reference(x)
    for a, b in zip(ours, ref):
        assert a.shape == b.shape
        assert (a - b).abs().max() <= 1e-5


def test_checkpoint_file_through_mmengine_loader(reference, tmp_path):
    from mmengine.runner import load_checkpoint
    path = tmp_path / 'mmaction2_bmn.pth'
    torch.save({'meta': {'epoch': 9}, 'state_dict': reference.state_dict()}, path)
    model = BMN(**CFG)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    x = torch.randn(2, C, T)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[0], reference(x)[0], atol=1e-5, rtol=0)


def test_checkpoint_with_other_temporal_dim_fails_clearly():
    sd = ReferenceBMN(tscale=8).state_dict()
    with pytest.raises(ValueError, match=r'sample_mask has shape \(8, 256\).*temporal_dim=10'):
        BMN(**CFG).load_state_dict(sd)


def test_fused_and_dense_models_equal_outputs_loss_and_grads():
    torch.manual_seed(1)
    fused = BMN(**CFG)
    dense = BMN(**CFG, bm_layer='dense')
    dense.load_state_dict(fused.state_dict())
    x = torch.randn(3, C, T)
    samples = _samples(3, np.random.default_rng(0))
    for a, b in zip(fused(x), dense(x)):
        assert (a - b).abs().max() <= 1e-5
    torch.manual_seed(5)
    lf = fused(x, samples, mode='loss')
    torch.manual_seed(5)
    ld = dense(x, samples, mode='loss')
    assert abs(lf['loss'].item() - ld['loss'].item()) <= 1e-4
    lf['loss'].backward()
    ld['loss'].backward()
    for (name, pf), (_, pd) in zip(fused.named_parameters(), dense.named_parameters()):
        assert (pf.grad - pd.grad).abs().max() <= 1e-4, name


def test_loss_mode_keys_and_parse_losses():
    torch.manual_seed(2)
    model = BMN(**CFG)
    samples = _samples(2, np.random.default_rng(1))
    inputs = [torch.randn(C, T) for _ in range(2)]
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss', 'tem', 'pem_reg', 'pem_cls'}
    total = losses['tem'] + 10 * losses['pem_reg'] + losses['pem_cls']
    torch.testing.assert_close(losses['loss'].detach(), total)
    parsed, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(parsed, losses['loss'])      # parts are logged, not summed
    parsed.backward()
    assert all(p.grad is not None for p in model.parameters())


def _loop_candidates(ss, es, cls, reg):
    tscale = len(ss)
    sb = np.zeros(tscale)
    eb = np.zeros(tscale)
    sb[0] = 1
    eb[-1] = 1
    for i in range(1, tscale - 1):
        if (ss[i] > ss[i + 1] and ss[i] > ss[i - 1]) or ss[i] > 0.5 * max(ss):
            sb[i] = 1
        if (es[i] > es[i + 1] and es[i] > es[i - 1]) or es[i] > 0.5 * max(es):
            eb[i] = 1
    rows = []
    for d in range(tscale):
        for s in range(tscale):
            e = s + d + 1
            if e < tscale and sb[s] == 1 and eb[e] == 1:
                rows.append([s / tscale, e / tscale, ss[s], es[e], cls[d, s], reg[d, s],
                             ss[s] * es[e] * cls[d, s] * reg[d, s]])
    return np.array(rows, dtype=np.float64).reshape(-1, 7)


@pytest.mark.parametrize('seed', range(4))
def test_candidates_match_loop_reference(seed):
    rng = np.random.default_rng(seed)
    tscale = int(rng.integers(3, 30))
    ss, es = rng.uniform(size=(2, tscale)).astype(np.float32)
    if seed == 0:
        ss[:] = 0.3                                     # flat curve: only forced ends + > 0.5 max
    cls, reg = rng.uniform(size=(2, tscale, tscale)).astype(np.float32)
    np.testing.assert_array_equal(bmn_candidates(ss, es, cls, reg),
                                  _loop_candidates(ss, es, cls, reg))


def test_predict_batch_equals_single_and_reference_pipeline():
    torch.manual_seed(3)
    model = BMN(**CFG).eval()
    x = torch.randn(3, C, T)
    batch = model(x, _samples(3, np.random.default_rng(0), with_gt=False), mode='predict')
    bm, start, end = model(x)
    for i, sample in enumerate(batch):
        single = model(x[i:i + 1], _samples(3, np.random.default_rng(0), False)[i:i + 1],
                       mode='predict')[0]
        torch.testing.assert_close(sample.pred_instances.segments, single.pred_instances.segments)
        meta = sample.metainfo
        dur = output_duration_s(meta['duration_second'], meta['duration_frame'], 16)
        rows = _loop_candidates(start[i].detach().numpy(), end[i].detach().numpy(),
                                bm[i, 1].detach().numpy(), bm[i, 0].detach().numpy())
        seg_ref, score_ref = post_processing(rows, dur, 0.4, 0.5, 0.9, 20)
        pred = sample.pred_instances
        np.testing.assert_allclose(pred.segments.numpy(), seg_ref, atol=1e-9)
        np.testing.assert_allclose(pred.scores.numpy(), score_ref, atol=1e-12)
        assert 0 < len(pred) <= 20
        assert pred.segments.min() >= 0 and pred.segments.max() <= dur + 1e-9
        assert torch.all(pred.scores[1:] <= pred.scores[:-1])


def test_amp_bfloat16_loss_and_predict():
    torch.manual_seed(4)
    model = BMN(**CFG)
    samples = _samples(2, np.random.default_rng(2))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model(torch.randn(2, C, T), samples, mode='loss')
    assert losses['loss'].dtype == torch.float32 and torch.isfinite(losses['loss'])
    losses['loss'].backward()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(torch.randn(2, C, T), samples, mode='predict')
    assert out[0].pred_instances.segments.dtype == torch.float64


def test_errors_are_clear():
    model = BMN(**CFG)
    with pytest.raises(ValueError, match=r'expected inputs of shape \(B, 8, 10\)'):
        model(torch.randn(2, C, T + 1))
    with pytest.raises(ValueError, match='gt_instances.segments'):
        model(torch.randn(1, C, T), _samples(1, np.random.default_rng(0), False), mode='loss')
    sample = LocalizationDataSample(metainfo=dict(video_name='v_x'))
    with pytest.raises(ValueError, match=r"v_x.*duration_second"):
        model.eval()(torch.randn(1, C, T), [sample], mode='predict')
    with pytest.raises(ValueError, match='bm_layer'):
        BMN(**CFG, bm_layer='sparse')
    with pytest.raises(RuntimeError, match='invalid mode'):
        model(torch.randn(1, C, T), mode='train')


def test_short_training_reduces_loss():
    torch.manual_seed(0)
    model = BMN(**CFG)
    x = torch.randn(4, C, T)
    samples = _samples(4, np.random.default_rng(7))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(50):
        losses = model(x, samples, mode='loss')
        opt.zero_grad()
        losses['loss'].backward()
        opt.step()
        first = first if first is not None else (losses['tem'].item(), losses['pem_cls'].item())
    # TEM and PEM-cls are deterministic given the weights: both must drop clearly.
    with torch.no_grad():
        final = model(x, samples, mode='loss')
    assert final['tem'].item() < 0.7 * first[0]
    assert final['pem_cls'].item() < 0.85 * first[1]


def test_torch_compile_fullgraph_forward_and_backward():
    # No graph break through the fused BM layer (its custom autograd Function included).
    torch.manual_seed(6)
    model = BMN(**CFG)
    x = torch.randn(2, C, T, requires_grad=True)
    ref = model(x)
    compiled = torch.compile(model._forward, backend='aot_eager', fullgraph=True)
    out = compiled(x)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    grad_ref, = torch.autograd.grad(ref[0].sum(), x)
    grad, = torch.autograd.grad(out[0].sum(), x)
    torch.testing.assert_close(grad, grad_ref, atol=1e-6, rtol=0)
