"""ActionFormer / TriDet networks: the banded attention against the official formulation and
a loop, masks (padded positions never contribute), shapes, assignment against a loop,
upstream checkpoints."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmloc.models.actionformer import assign_points, local_attention
from mmloc.models.actionformer.attention import MaskedMHCA
from mmloc.registry import MODELS
from mmloc.structures import LocalizationDataSample, TimeGrid
from mmloc.testing.actionformer_reference import sliding_chunk_attention
from mmloc.utils import register_all_modules

from af_configs import C, K, L, af_cfg, td_cfg
from af_reference import loop_assign, loop_local_attention

register_all_modules()
@pytest.mark.parametrize('T, window, n', [(24, 5, 17), (36, 7, 36), (32, 9, 5), (16, 3, 16),
                                         (40, 19, 40)])
def test_local_attention_equals_official_and_loop(T, window, n):
    torch.manual_seed(T)
    q, k, v = torch.randn(3, 2, 2, T, 4).unbind(0)
    mask = torch.arange(T)[None].repeat(2, 1) < torch.tensor([[n], [T]])
    ours = local_attention(q, k, v, mask, window) * mask[:, None, :, None]
    loop = loop_local_attention(q, k, v, mask, window)
    torch.testing.assert_close(ours, loop, atol=2e-6, rtol=1e-5)
    if T % (2 * (window // 2)) == 0:
        torch.testing.assert_close(sliding_chunk_attention(q, k, v, mask, window), loop,
                                   atol=2e-6, rtol=1e-5)


def test_local_attention_block_size_does_not_change_numbers():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 1, 2, 50, 8).unbind(0)
    mask = torch.arange(50)[None] < 41
    a = local_attention(q, k, v, mask, 9, block=8)
    b = local_attention(q, k, v, mask, 9, block=64)
    torch.testing.assert_close(a[:, :, :41], b[:, :, :41], atol=1e-6, rtol=1e-5)


def test_local_attention_never_builds_txt(monkeypatch):
    """The largest score tensor is (B, h, T / block, block, block + 2w), not T x T."""
    import torch.nn.functional as F
    seen = []
    real = F.scaled_dot_product_attention

    def spy(q, k, v, attn_mask=None, **kw):
        seen.append((q.shape[-2], k.shape[-2]))
        return real(q, k, v, attn_mask=attn_mask, **kw)
    monkeypatch.setattr(F, 'scaled_dot_product_attention', spy)
    T = 512
    q = torch.randn(1, 1, T, 4)
    local_attention(q, q, q, torch.ones(1, T, dtype=torch.bool), 19)
    assert seen and all(k_len < 64 for _, k_len in seen)


def test_global_attention_ignores_padded_keys():
    from mmloc.models.actionformer import global_attention
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 1, 2, 12, 4).unbind(0)
    mask = (torch.arange(12) < 9)[None]
    k2, v2 = k.clone(), v.clone()
    k2[:, :, 9:] = 50.0
    v2[:, :, 9:] = -7.0
    torch.testing.assert_close(global_attention(q, k, v, mask), global_attention(q, k2, v2, mask))
    s = (q @ k[:, :, :9].transpose(-1, -2)) / 2.0
    torch.testing.assert_close(global_attention(q, k, v, mask), s.softmax(-1) @ v[:, :, :9])


def test_assignment_equals_loop_reference():
    rng = np.random.default_rng(0)
    gen = MODELS.build(af_cfg()).point_generator
    points = torch.cat(gen([64, 32, 16, 8]))
    for trial in range(5):
        n = int(rng.integers(1, 6))
        starts = rng.uniform(-2, 55, n)
        gt = torch.tensor(np.stack([starts, starts + rng.uniform(0.5, 40, n)], 1),
                          dtype=torch.float32)
        if trial == 0:
            gt = torch.cat([gt, gt[:1]])                        # the same segment twice
        labels = torch.tensor(rng.integers(0, K, len(gt)))
        for cs in ('radius', 'none'):
            c1, r1 = assign_points(points, gt, labels, K, cs)
            c2, r2 = loop_assign(points, gt, labels, K, cs)
            torch.testing.assert_close(c1, c2)
            pos = c2.sum(1) > 0
            torch.testing.assert_close(r1[pos], r2[pos])


def _samples(lengths, T_pad, with_gt=True):
    out = []
    for n in lengths:
        s = LocalizationDataSample(metainfo=dict(
            valid_length=n, video_name=f'v{n}',
            time_grid=TimeGrid.from_features(n, 30, 4, 16, (n * 4 + 12) / 30)))
        s.input_mask = torch.arange(T_pad) < n
        if with_gt:
            s.gt_instances = InstanceData(segments=np.array([[3., 10.], [12., 40.]], np.float32),
                                          labels=np.array([0, 2]))
        out.append(s)
    return out


@pytest.mark.parametrize('cfg', [af_cfg, td_cfg], ids=['actionformer', 'tridet'])
def test_forward_shapes_loss_backward_predict(cfg):
    torch.manual_seed(0)
    model = MODELS.build(cfg())
    x = torch.randn(2, C, L)
    samples = _samples([50, 64], L)
    out = model(x, samples, 'tensor')
    assert [c.shape for c in out['cls']] == [(2, L >> i, K) for i in range(4)]
    want = (2, L, 2) if cfg is af_cfg else (2, L, K, 2)
    assert out['offsets'][0].shape == want
    model.train()
    losses = model(x, samples, 'loss')
    assert set(losses) == {'loss_cls', 'loss_reg'}
    sum(losses.values()).backward()
    assert all(p.grad is not None for n, p in model.named_parameters()
               if p.requires_grad and 'start_head' not in n and 'end_head' not in n)
    model.eval()
    res = model(x, samples, 'predict')
    pred = res[0].pred_instances
    assert pred.segments.shape[1] == 2 and (pred.segments >= 0).all()
    assert (pred.segments <= res[0].metainfo['time_grid'].duration_s + 1e-5).all()
    assert torch.all(pred.scores[:-1] >= pred.scores[1:])


@pytest.mark.parametrize('cfg', [af_cfg, td_cfg], ids=['actionformer', 'tridet'])
def test_padded_positions_never_contribute(cfg):
    """Changing padded input values changes neither the outputs nor the gradients."""
    torch.manual_seed(0)
    model = MODELS.build(cfg())
    model.train()
    model.backbone.apply(lambda m: setattr(m, 'drop_prob', 0.0) if hasattr(m, 'drop_prob')
                         else None)
    samples = _samples([40, 64], L)
    x = torch.randn(2, C, L)
    x[0, :, 40:] = 0

    def run(inp):
        model.zero_grad()
        if hasattr(model, 'input_noise'):
            model.input_noise = 0.0
        model.loss_module.normalizer.value = 100.0
        losses = model(inp, samples, 'loss')
        sum(losses.values()).backward()
        return ({k: v.detach() for k, v in losses.items()},
                {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    l1, g1 = run(x)
    x2 = x.clone()
    x2[0, :, 40:] = torch.randn(C, L - 40) * 10
    l2, g2 = run(x2)
    for k in l1:
        torch.testing.assert_close(l1[k], l2[k])
    for n in g1:
        torch.testing.assert_close(g1[n], g2[n], msg=n)


def test_tridet_dead_sgp_branches_stay_zero():
    torch.manual_seed(0)
    model = MODELS.build(td_cfg(init_conv_vars=0.0))
    model.train()
    losses = model(torch.randn(2, C, L), _samples([50, 64], L), 'loss')
    sum(losses.values()).backward()
    for name, p in model.backbone.named_parameters():
        if any(k in name for k in ('psi', '.fc.', 'convw', 'convkw', 'global_fc')) \
                and name.endswith('weight'):
            assert not p.any(), name
            assert p.grad is None or not p.grad.any(), name


def test_tridet_start_end_heads_see_detached_features():
    model = MODELS.build(td_cfg())
    assert model.start_head.detach_feat and model.end_head.detach_feat


def test_inference_padding_follows_upstream():
    model = MODELS.build(af_cfg())
    assert model.max_div_factor == 8 * (5 // 2) * 2          # top stride 8, window 5
    assert model.inference_length(10) == L and model.inference_length(L + 1) == 96


def test_max_seq_len_must_divide_the_windows():
    with pytest.raises(ValueError, match='multiple of'):
        MODELS.build(dict(af_cfg(), max_seq_len=60))


# ----------------------------------------------------------------- upstream checkpoints
def _upstream(model):
    """An upstream-layout checkpoint of ``model``'s weights (module. prefix, EMA copy)."""
    sd = {f'module.{k}': v.clone() for k, v in model.state_dict().items()}
    ema = {k: v + 1.0 for k, v in sd.items()}
    return {'epoch': 34, 'state_dict': sd, 'state_dict_ema': ema, 'optimizer': {},
            'scheduler': {}}


@pytest.mark.parametrize('cfg', [af_cfg, td_cfg], ids=['actionformer', 'tridet'])
def test_upstream_state_dict_loads_strictly(cfg):
    from mmloc.models.actionformer import convert_upstream_checkpoint
    torch.manual_seed(0)
    src = MODELS.build(cfg())
    ckpt = _upstream(src)
    dst = MODELS.build(cfg())
    dst.load_state_dict(ckpt['state_dict'], strict=True)       # the key-map hook
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v)
    conv = convert_upstream_checkpoint(ckpt)                   # EMA weights by default
    assert conv['meta']['upstream_weights'] == 'state_dict_ema'
    dst.load_state_dict(conv['state_dict'], strict=True)
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v + 1.0)
    bad = dict(ckpt['state_dict'])
    bad.pop(next(iter(bad)))
    with pytest.raises(RuntimeError, match='Missing key'):
        dst.load_state_dict(bad, strict=True)


def test_upstream_names_are_the_official_ones():
    keys = set(MODELS.build(af_cfg()).state_dict())
    for k in ('backbone.embd.0.conv.weight', 'backbone.embd_norm.0.weight',
              'backbone.stem.0.attn.query_conv.conv.weight', 'backbone.stem.0.attn.proj.bias',
              'backbone.branch.0.mlp.3.weight', 'backbone.stem.0.drop_path_attn.scale',
              'neck.fpn_norms.0.weight', 'cls_head.head.0.conv.weight', 'cls_head.norm.1.bias',
              'cls_head.cls_head.conv.bias', 'reg_head.offset_head.conv.weight',
              'reg_head.scale.3.scale'):
        assert k in keys, k
    td = set(MODELS.build(td_cfg()).state_dict())
    for k in ('backbone.stem.0.psi.weight', 'backbone.branch.0.convkw.weight',
              'backbone.branch.0.drop_path_out.scale', 'backbone.stem.0.gn.weight',
              'backbone.branch.0.mlp.2.weight', 'start_head.cls_head.conv.bias',
              'end_head.head.0.conv.weight'):
        assert k in td, k
    assert not any('stem.0.drop_path' in k for k in td)


# ----------------------------------------------------------------- benchmark references
def test_benchmark_references_equal_the_package():
    """benchmarks/actionformer.py times these against mmloc's functions: same numbers."""
    from mmloc.models.actionformer.decoding import trident_offsets
    from mmloc.models.post_processing.nms import batched_nms
    from mmloc.testing.actionformer_reference import (kernel_multiclass_nms,
                                                      shifted_trident_offsets)
    torch.manual_seed(0)
    s, e = torch.randn(2, 2, 30, 5).unbind(0)
    b = torch.randn(2, 30, 10)
    torch.testing.assert_close(shifted_trident_offsets(s, e, b, 4), trident_offsets(s, e, b, 4))
    rng = np.random.default_rng(0)
    st = rng.uniform(0, 100, 300)
    segs = np.stack([st, st + rng.uniform(1, 20, 300)], 1).astype(np.float32)
    scores = rng.uniform(0, 1, 300).astype(np.float32)
    labels = rng.integers(0, 4, 300)
    for max_seg in (200, 20):
        ours = batched_nms(segs, scores, labels, 0.1, 0.001, max_seg, sigma=0.5)
        ref = kernel_multiclass_nms(segs, scores, labels, 0.5, 0.001, max_seg)
        for a, r in zip(ours, ref):
            np.testing.assert_array_equal(a, r)


def test_upstream_file_loads_its_ema_weights_through_the_ema_hook():
    """tools/test.py on an official file evaluates ``state_dict_ema`` (upstream's eval.py):
    the runner calls ``after_load_checkpoint`` before it loads ``state_dict``."""
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from mmloc.engine import LocalizationEMAHook
    torch.manual_seed(0)
    src = MODELS.build(af_cfg())
    ckpt = _upstream(src)
    LocalizationEMAHook(momentum=0.001).after_load_checkpoint(None, ckpt)
    dst = MODELS.build(af_cfg())
    _load_checkpoint_to_model(dst, ckpt, strict=True)
    for k, v in src.state_dict().items():
        torch.testing.assert_close(dst.state_dict()[k], v + 1.0)


@pytest.mark.parametrize('T, window, n', [(36, 7, 30), (36, 19, 36)])
def test_local_attention_gradients_equal_official(T, window, n):
    """Forward and backward of the banded attention against the sliding-chunk formulation."""
    torch.manual_seed(T)
    mask = torch.arange(T)[None].repeat(2, 1) < torch.tensor([[n], [T]])
    data = torch.randn(3, 2, 2, T, 4)
    grads = []
    for fn in (local_attention, sliding_chunk_attention):
        q, k, v = (x.clone().requires_grad_() for x in data.unbind(0))
        out = fn(q, k, v, mask, window) * mask[:, None, :, None]
        (out * torch.linspace(-1, 1, T)[:, None]).sum().backward()
        grads.append([out.detach(), q.grad, k.grad, v.grad])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=2e-6, rtol=1e-5)
