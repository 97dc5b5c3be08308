"""The whole AFSD model on tiny clips: forward shapes, backward, frozen BN, a short fit,
predict format, and the real-size I3D/network geometry (spec §2.1, §8.1)."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmloc.models.afsd import AFSDNet, InceptionI3d, load_i3d_checkpoint
from mmloc.models.afsd.layers import Unit1D, pad_same, tf_same_pad
from mmloc.registry import MODELS
from mmloc.structures import LocalizationDataSample

L = 32


def tiny_model(**kw):
    cfg = dict(type='AFSD', net=dict(
        type='AFSDNet', num_classes=3, clip_length=L, crop_size=32, width=32, num_levels=4,
        gn_groups=8, freeze_bn=False,
        backbone=dict(type='TinyVideoBackbone', c4_channels=16, c5_channels=32,
                      base_channels=8)))
    cfg.update(kw)
    return MODELS.build(cfg)


def batch():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (2, 3, L, 32, 32), dtype=torch.uint8)
    # the action frames are bright so that the tiny model can fit them
    x[0, :, 8:20] = 250
    x[1, :, 4:12] = 250
    x[1, :, 16:28] = 200
    samples = []
    for gts in ([[8, 20, 1]], [[4, 12, 2], [16, 28, 1]]):
        s = LocalizationDataSample()
        g = torch.tensor(gts, dtype=torch.float32)
        s.gt_instances = InstanceData(segments=g[:, :2] / L, labels=g[:, 2].long())
        start, end = torch.zeros(L), torch.zeros(L)
        for a, b, _ in gts:
            start[a - 1:a + 2] = 1
            end[b - 1:b + 2] = 1
        s.start_labels, s.end_labels = start, end
        samples.append(s)
    samples[0].ssl_inputs = x[0].clone()
    samples[0].ssl_segments = torch.tensor([[8., 12], [16, 20], [13, 15]])
    return list(x), samples


def test_tf_same_padding():
    assert tf_same_pad(8, 3, 2) == (0, 1)
    assert tf_same_pad(7, 3, 2) == (1, 1)
    assert tf_same_pad(8, 3, 1) == (1, 1)
    assert tf_same_pad(8, 1, 1) == (0, 0)
    x = torch.arange(8.).view(1, 1, 8)
    assert pad_same(x, (3,), (2,)).tolist() == [[[0, 1, 2, 3, 4, 5, 6, 7, 0]]]
    conv = Unit1D(1, 1, 3, 2, bias=False)
    conv.conv1d.weight.data.fill_(1.0)
    # windows [0,1,2], [2,3,4], [4,5,6], [6,7,pad]
    assert conv(x).flatten().tolist() == [3, 9, 15, 13]


def test_forward_shapes_and_backward():
    model = tiny_model()
    x, samples = batch()
    out = model(x, mode='tensor')
    assert out['loc'].shape == (2, 15, 2) and out['conf'].shape == (2, 15, 3)
    assert out['prop_loc'].shape == (2, 15, 2) and out['center'].shape == (2, 15, 1)
    assert out['start'].shape == (2, L, 16) and out['start_loc_prop'].shape == (2, 8, 32)
    assert torch.all(out['loc'] > 0)
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_loc', 'loss_prop_loc', 'loss_cls', 'loss_prop_cls',
                           'loss_quality', 'loss_start', 'loss_end', 'loss_contrastive'}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.net.backbone.stem[0].conv3d.weight.grad.abs().sum() > 0


def test_ten_adam_steps_lower_the_losses():
    model = tiny_model(piou=0.0)  # every coarse positive is a refined one from step 0
    x, samples = batch()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for _ in range(10):
        losses = model(x, samples, mode='loss')
        history.append({k: v.item() for k, v in losses.items()})
        opt.zero_grad()
        sum(losses.values()).backward()
        opt.step()
    first, last = history[0], model(x, samples, mode='loss')
    assert sum(last.values()).item() < sum(first.values())
    # (the start/end BCE terms are small and share the features; they need more steps)
    for key in ('loss_loc', 'loss_cls', 'loss_prop_cls'):
        assert last[key].item() < first[key], key


def test_predict_whole_video():
    model = tiny_model(test_cfg=dict(clip_stride=16, conf_thresh=0.0))
    model.eval()
    sample = LocalizationDataSample()
    sample.set_metainfo(dict(video_name='v', sample_fps=10.0))
    video = torch.randint(0, 256, (3, 70, 32, 32), dtype=torch.uint8)
    out = model([video], [sample], mode='predict')[0].pred_instances
    assert len(out) > 0
    assert torch.all(out.scores[:-1] >= out.scores[1:])
    assert set(out.labels.tolist()) <= {0, 1}
    # windows at 0, 16, 32, 38 (frames): segments in seconds lie in [0, (38 + 32) / 10]
    assert out.segments.min() >= 0 and out.segments.max() <= 7.0 + 1e-6
    assert torch.all(out.segments[:, 1] >= out.segments[:, 0])


def _per_window_reference(model, video, fps=10.0):
    """What the original test.py does: one window per forward pass (batch 1), decoded and
    collected window by window, then merged per class with Soft-NMS."""
    from mmloc.models.afsd.inference import (collect_detections, decode_window,
                                             merge_video_detections)
    from mmloc.structures import TimeGrid
    from mmloc.structures.windows import window_offsets
    cfg = model.test_cfg
    frames = TimeGrid.from_fps(fps, num_frames=video.shape[1])
    windows = []
    for offset in window_offsets(video.shape[1], L, cfg['clip_stride']):
        clip = video[:, offset:offset + L].float() / 255.0 * 2.0 - 1.0
        if clip.shape[1] < L:
            clip = torch.cat([clip, clip.new_zeros((3, L - clip.shape[1]) + clip.shape[2:])], 1)
        with torch.no_grad():
            out = model.net(clip[None])
        segs, scores = decode_window(out['loc'][0], out['conf'][0], out['prop_loc'][0],
                                     out['prop_conf'][0], out['center'][0], out['priors'], L)
        windows.append(collect_detections(segs.numpy(), scores.numpy(),
                                          frames.cropped(offset, L), cfg['conf_thresh']))
    return merge_video_detections(windows, model.num_classes, cfg['nms_sigma'], cfg['top_k'],
                                  cfg['score_threshold'])


def test_windows_per_batch_1_is_the_per_window_forward_exactly():
    torch.manual_seed(3)
    model = tiny_model(test_cfg=dict(clip_stride=8, conf_thresh=0.0)).eval()
    assert model.test_cfg['windows_per_batch'] == 1          # the default: the original's
    video = torch.randint(0, 256, (3, 90, 32, 32), dtype=torch.uint8)
    meta = dict(video_name='v', sample_fps=10.0)
    ref = _per_window_reference(model, video)
    got = model.predict_video(video, meta)
    assert len(ref[0]) > 10
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)                  # bit for bit
    # more windows per pass: the same detections up to float rounding of the batched convs
    model.test_cfg['windows_per_batch'] = 5
    batched = model.predict_video(video, meta)
    assert len(batched[0]) == len(ref[0])
    np.testing.assert_allclose(batched[1], ref[1], rtol=1e-4, atol=1e-6)


def test_videos_per_batch_do_not_change_results():
    """test_dataloader.batch_size > 1: each video is still windowed on its own."""
    model = tiny_model(test_cfg=dict(clip_stride=16, conf_thresh=0.0)).eval()
    gen = torch.Generator().manual_seed(1)
    videos = [torch.randint(0, 256, (3, n, 32, 32), generator=gen, dtype=torch.uint8)
              for n in (70, 45)]

    def samples(n):
        out = []
        for i in range(n):
            s = LocalizationDataSample()
            s.set_metainfo(dict(video_name=f'v{i}', sample_fps=10.0))
            out.append(s)
        return out

    together = model(videos, samples(2), mode='predict')
    for i, video in enumerate(videos):
        alone = model([video], samples(1), mode='predict')[0].pred_instances
        for key in ('segments', 'scores', 'labels'):
            assert torch.equal(together[i].pred_instances[key], alone[key]), (i, key)


def test_windows_per_batch_config_spellings():
    assert tiny_model(test_cfg=dict(batch_size=4)).test_cfg['windows_per_batch'] == 4
    assert 'batch_size' not in tiny_model(test_cfg=dict(batch_size=4)).test_cfg
    with pytest.raises(ValueError, match='batch_size is the older name of windows_per_batch'):
        tiny_model(test_cfg=dict(batch_size=4, windows_per_batch=2))
    with pytest.raises(ValueError, match='windows_per_batch must be >= 1'):
        tiny_model(test_cfg=dict(windows_per_batch=0))


def test_frozen_bn_stays_in_eval():
    net = AFSDNet(num_classes=3, clip_length=64, crop_size=96, width=32, num_levels=4,
                  gn_groups=8, backbone=dict(type='InceptionI3d'))
    net.train()
    bns = [m for m in net.backbone.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert bns and all(not m.training for m in bns)
    assert all(not p.requires_grad for m in bns for p in m.parameters())
    assert net.backbone.Conv3d_1a_7x7.conv3d.weight.requires_grad


def test_real_size_parameter_counts_and_i3d_shapes():
    i3d = InceptionI3d()
    assert sum(p.numel() for p in i3d.parameters()) == 12_287_264
    net = AFSDNet(backbone=dict(type='InceptionI3d'))
    assert sum(p.numel() for p in net.parameters()) == 44_746_069
    assert net.level_lengths == [64, 32, 16, 8, 4, 2] and net.priors.numel() == 126
    with torch.no_grad():
        feats = i3d(torch.zeros(1, 3, 16, 96, 96))
    assert feats['Mixed_4f'].shape == (1, 832, 4, 6, 6)
    assert feats['Mixed_5c'].shape == (1, 1024, 2, 3, 3)


def test_i3d_checkpoint_loads_strictly(tmp_path):
    src = InceptionI3d(in_channels=2)
    state = {k: v for k, v in src.state_dict().items() if not k.endswith('num_batches_tracked')}
    state['logits.conv3d.weight'] = torch.zeros(400, 1024, 1, 1, 1)  # ignored
    good = tmp_path / 'flow_imagenet.pt'
    torch.save(state, good)
    dst = InceptionI3d(in_channels=2, pretrained=str(good))
    key = 'Mixed_4f.b1b.conv3d.weight'
    assert torch.equal(dst.state_dict()[key], src.state_dict()[key])
    assert torch.equal(dst.state_dict()['Conv3d_1a_7x7.bn.running_var'],
                       src.state_dict()['Conv3d_1a_7x7.bn.running_var'])
    missing = dict(state)
    del missing[key]
    torch.save(missing, tmp_path / 'missing.pt')
    with pytest.raises(KeyError, match='Mixed_4f.b1b.conv3d.weight'):
        load_i3d_checkpoint(InceptionI3d(in_channels=2), str(tmp_path / 'missing.pt'))
    with pytest.raises(ValueError, match='shape mismatch'):
        InceptionI3d(in_channels=3, pretrained=str(good))  # flow weights into an RGB net
    with pytest.raises(FileNotFoundError, match='never downloads'):
        InceptionI3d(pretrained='https://example.com/rgb_imagenet.pt')


def test_registered_parts_and_config_forms():
    """backbone/neck/head as registered parts; the flat AFSDNet arguments still build the
    same network, and the top-level loss weights still reach AFSDLoss."""
    from mmloc.models.afsd import AFSDFramePyramid, AFSDHead
    from mmloc.models.losses import AFSDLoss
    torch.manual_seed(0)
    flat = tiny_model().net
    torch.manual_seed(0)
    parts = tiny_model(net=dict(
        type='AFSDNet', num_classes=3, clip_length=L, crop_size=32, width=32, num_levels=4,
        gn_groups=8, freeze_bn=False,
        backbone=dict(type='TinyVideoBackbone', c4_channels=16, c5_channels=32, base_channels=8),
        neck=dict(type='AFSDFramePyramid'), head=dict(type='AFSDHead'))).net
    assert isinstance(parts.neck, AFSDFramePyramid) and isinstance(parts.head, AFSDHead)
    assert parts.neck.c4_spatial == 2 and parts.head.level_lengths == [8, 4, 2, 1]
    a, b = flat.state_dict(), parts.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(k.startswith('head.loc_tower.') for k in a)
    model = tiny_model(loss=dict(type='AFSDLoss', lw=2.0, piou=0.3), piou=0.1)
    assert isinstance(model.loss_module, AFSDLoss)
    assert (model.loss_module.lw, model.loss_module.piou, model.loss_module.ssl) == (2.0, 0.1, 0.1)
    assert not list(model.loss_module.parameters())  # no state: checkpoints unchanged


def test_pre_split_checkpoint_keys_are_upgraded():
    from mmloc.models.afsd import upgrade_afsd_state_dict
    model = tiny_model()
    sd = model.state_dict()
    old = {('net.' + k[len('net.head.'):] if k.startswith('net.head.') else k): v
           for k, v in sd.items()}
    assert 'net.loc_tower.0.conv.conv1d.weight' in old
    fresh = tiny_model()
    fresh.load_state_dict(dict(old), strict=True)  # the net's load hook renames
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in sd.items())
    up = upgrade_afsd_state_dict(dict(old), 'net.')
    assert list(up) == list(sd)  # same keys, same order
    assert upgrade_afsd_state_dict(dict(sd), 'net.').keys() == sd.keys()  # idempotent
