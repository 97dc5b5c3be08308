"""SSN model: MMAction2 0.x parameter names/shapes, checkpoint loading, loss/predict paths."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmloc.models.ssn.checkpoint import convert_ssn_0x_state_dict, load_ssn_checkpoint
from mmloc.models.ssn.resnet import (SSNResNet, load_torchvision_resnet,
                                     torchvision_to_mmloc_keys)
from mmloc.registry import MODELS
from mmloc.structures import LocalizationDataSample


def _r50_ssn():
    from mmengine.config import Config
    cfg = Config.fromfile(str(Path(__file__).resolve().parents[2] / 'configs' / '_base_' /
                              'models' / 'ssn_r50.py'))
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def r50_ssn():
    return _r50_ssn()


def test_0x_parameter_names_and_shapes(r50_ssn):
    sd = r50_ssn.state_dict()
    expected = {
        'backbone.conv1.conv.weight': (64, 3, 7, 7),
        'backbone.conv1.bn.running_mean': (64, ),
        'backbone.layer1.0.conv1.conv.weight': (64, 64, 1, 1),
        'backbone.layer1.0.downsample.conv.weight': (256, 64, 1, 1),
        'backbone.layer1.0.downsample.bn.weight': (256, ),
        'backbone.layer4.2.conv3.bn.bias': (2048, ),
        'cls_head.activity_fc.weight': (21, 2048),
        'cls_head.completeness_fc.weight': (20, 6144),
        'cls_head.regressor_fc.weight': (40, 6144),
        'cls_head.regressor_fc.bias': (40, ),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key
    assert not any('test_fc' in k for k in sd)
    # ResNet-50: 53 conv layers, 53 BNs with 5 entries each, 3 head linears
    assert sum(k.endswith('conv.weight') for k in sd) == 53
    assert len(sd) == 53 + 53 * 5 + 6


def test_partial_bn_freezes_all_but_first(r50_ssn):
    r50_ssn.train()
    bns = [m for m in r50_ssn.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns[0].training and bns[0].weight.requires_grad
    assert all(not m.training and not m.weight.requires_grad for m in bns[1:])
    r50_ssn.eval()


def test_torchvision_keys_are_mapped(tmp_path):
    net = SSNResNet(depth=50)
    ours = net.state_dict()
    rename = {'conv1.conv.weight': 'conv1.weight'}
    tv = {}
    for k, v in ours.items():
        tk = rename.get(k, k)
        tk = tk.replace('conv1.bn.', 'bn1.') if tk.startswith('conv1.bn.') else tk
        for i in (1, 2, 3):
            tk = tk.replace(f'.conv{i}.conv.weight', f'.conv{i}.weight')
            tk = tk.replace(f'.conv{i}.bn.', f'.bn{i}.')
        tk = tk.replace('downsample.conv.', 'downsample.0.').replace('downsample.bn.',
                                                                    'downsample.1.')
        tv[tk] = torch.randn_like(v.float()).to(v.dtype) if v.is_floating_point() else v
    tv['fc.weight'] = torch.zeros(1000, 2048)
    tv['fc.bias'] = torch.zeros(1000)
    assert set(torchvision_to_mmloc_keys(tv)) == set(ours)
    path = tmp_path / 'resnet50_tv.pth'
    torch.save(tv, path)
    load_torchvision_resnet(net, str(path))
    torch.testing.assert_close(net.layer3[1].conv2.conv.weight, tv['layer3.1.conv2.weight'])
    torch.save({'conv1.weight': tv['conv1.weight']}, tmp_path / 'partial.pth')
    with pytest.raises(KeyError, match='partial.pth'):
        load_torchvision_resnet(net, str(tmp_path / 'partial.pth'))


def _feature_ssn(num_classes=4):
    return MODELS.build(dict(
        type='SSN', backbone=dict(type='SSNFeatureMLP', in_channels=16, hidden=(32, )),
        cls_head=dict(type='SSNHead', in_channels=32, num_classes=num_classes,
                      stpp_stage=(1, 1, 1)), dropout_ratio=0.0))


def test_0x_checkpoint_with_test_fc_loads_strictly(tmp_path):
    model = _feature_ssn()
    sd = {'module.' + k: v.clone() + 1 for k, v in model.state_dict().items()}
    sd['module.cls_head.test_fc.weight'] = torch.zeros(5 + 12 + 24, 32)
    sd['module.cls_head.test_fc.bias'] = torch.zeros(41)
    conv = convert_ssn_0x_state_dict(sd)
    assert 'cls_head.test_fc.weight' not in conv and 'cls_head.activity_fc.weight' in conv
    path = tmp_path / 'ssn_0x.pth'
    torch.save({'meta': {}, 'state_dict': sd}, path)
    fresh = _feature_ssn()
    assert load_ssn_checkpoint(fresh, str(path)) == dict(missing=[], unexpected=[])
    torch.testing.assert_close(fresh.cls_head.activity_fc.weight,
                               sd['module.cls_head.activity_fc.weight'])
    # strict load_state_dict (what tools/test.py does) drops test_fc through the pre-hook
    other = _feature_ssn()
    other.load_state_dict(conv | {'cls_head.test_fc.weight': torch.zeros(1)}, strict=True)


def _train_sample(rng):
    s = LocalizationDataSample()
    p = InstanceData()
    p.labels = torch.tensor([2, 2, 1, 3, 2, 4, 1, 0])
    p.types = torch.tensor([0, 1, 1, 1, 1, 1, 1, 2])
    p.reg_targets = torch.from_numpy(rng.normal(size=(8, 2)).astype(np.float32))
    p.scale_factors = torch.ones(8, 2)
    s.proposals = p
    return s


def test_loss_backward_and_predict_format():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = _feature_ssn()
    samples = [_train_sample(rng), _train_sample(rng)]
    losses = model([torch.randn(72, 16), torch.randn(72, 16)], samples, mode='loss')
    assert set(losses) == {'loss_activity', 'loss_completeness', 'loss_reg'}
    sum(losses.values()).backward()
    assert model.cls_head.completeness_fc.weight.grad.abs().sum() > 0
    act, comp, bbox = model([torch.randn(72, 16)], samples[:1], mode='tensor')
    assert act.shape == (8, 5) and comp.shape == (8, 4) and bbox.shape == (8, 4, 2)

    model.eval()
    from mmloc.datasets.transforms.ssn_sampling import proposal_test_ticks
    preds = []
    for duration in (50.0, 80.0):  # a batch of two videos: both get predictions
        s = LocalizationDataSample()
        rel = np.array([[0.1, 0.3], [0.4, 0.9], [0.0, 1.0]], np.float32)
        ticks, sf = proposal_test_ticks(rel, 30)
        p = InstanceData(segments=torch.from_numpy(rel), ticks=torch.from_numpy(ticks).long(),
                         scale_factors=torch.from_numpy(sf))
        s.proposals = p
        s.set_metainfo(dict(reg_norm_consts=np.array([[0, 0], [1, 1]], np.float32),
                            duration_second=duration))
        preds.append(s)
    out = model([torch.randn(30, 16), torch.randn(30, 16)], preds, mode='predict')
    for s, duration in zip(out, (50.0, 80.0)):
        pred = s.pred_instances
        assert len(pred.scores) > 0 and torch.all(pred.scores[:-1] >= pred.scores[1:])
        assert pred.segments.min() >= 0 and pred.segments.max() <= duration
        assert pred.labels.dtype == torch.int64 and pred.labels.max() < 4


def test_frame_features_pool_with_0x_avgpool2d():
    """0.x pools the 7 x 7 ResNet map with ``AvgPool2d(7, stride=1)``; the same op gives the
    same rounding, bit for bit (``mean`` over the map differs by ~1e-4 at values ~140)."""
    model = _feature_ssn()
    model.backbone = torch.nn.Identity()
    g = torch.Generator().manual_seed(0)
    fmap = torch.rand(6, 2048, 7, 7, generator=g) * 140
    expected = torch.nn.AvgPool2d(7, stride=1, padding=0)(fmap).flatten(1)
    got = model.extract_feat(fmap)
    assert got.shape == (6, 2048)
    assert torch.equal(got, expected)
    assert not torch.equal(fmap.mean(dim=(2, 3)), expected)  # the op matters at this scale
