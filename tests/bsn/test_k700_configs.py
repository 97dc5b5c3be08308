"""The SlowOnly-K700 BSN chain: 2048-d TEM input and a work_dir of its own for every output."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from mmloc.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(REPO, 'configs', 'localization', 'bsn')
K700 = 'bsn_2048x100_20e_1x16_activitynet_slowonly_k700_feature'


def _strings(cfg) -> list:
    """Every string value of a config (paths included), flattened."""
    out = []

    def walk(v):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
    walk(json.loads(json.dumps(cfg.to_dict(), default=str)))
    return out


@pytest.mark.parametrize('name', [
    'bsn_tem_2048x100_1x16_20e_activitynet_slowonly_k700_feature.py',
    'bsn_pgm_2048x100_activitynet_slowonly_k700_feature.py',
    'bsn_pem_2048x100_1x16_20e_activitynet_slowonly_k700_feature.py'])
def test_k700_outputs_never_land_in_the_400d_work_dir(name):
    cfg = Config.fromfile(osp.join(CFG, name))
    paths = [s for s in _strings(cfg) if 'work_dirs' in s]
    assert paths and all(K700 in p for p in paths), paths


def test_k700_tem_reads_2048d_features():
    cfg = Config.fromfile(osp.join(CFG, 'bsn_tem_2048x100_1x16_20e_activitynet_slowonly_k700_feature.py'))
    tem = MODELS.build(cfg.model)
    assert tem.conv1.in_channels == 2048
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        assert ds.data_prefix.video == 'data/ActivityNet/k700slowonly/'
        assert ds.pipeline[0].feat_dim == 2048
    assert cfg.test_evaluator.out_dir.startswith(f'./work_dirs/{K700}/')
