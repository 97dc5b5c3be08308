"""model-index.yml and the metafiles: structure, and every listed config loads and builds."""
import os.path as osp

import pytest
import yaml
from mmengine.config import Config

from mmloc.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FEATURE_DIM = {'cuhk_mean_100': 400, 'slowonly_k700 (2048-d)': 2048}


def _metafiles():
    with open(osp.join(REPO, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    assert index['Import'], 'model-index.yml imports no metafile'
    out = []
    for rel in index['Import']:
        path = osp.join(REPO, rel)
        assert osp.isfile(path), f'model-index.yml: {rel} does not exist'
        with open(path) as f:
            out.append((rel, yaml.safe_load(f)))
    return out


METAFILES = _metafiles()
MODELS_LISTED = [(rel, m) for rel, meta in METAFILES for m in meta['Models']]


def test_collections_and_models_are_well_formed():
    names = [m['Name'] for _, m in MODELS_LISTED]
    assert len(names) == len(set(names)) >= 3
    for rel, meta in METAFILES:
        collections = {c['Name'] for c in meta['Collections']}
        for c in meta['Collections']:
            readme = osp.normpath(osp.join(REPO, osp.dirname(rel), c['README']))
            assert osp.isfile(readme), f'{rel}: README {c["README"]} not found'
            assert c['Paper']['URL'].startswith('https://') and c['Paper']['Title']
        for m in meta['Models']:
            where = f'{rel}: {m["Name"]}'
            assert m['In Collection'] in collections, where
            assert m['Metadata']['Training Data'] in ('ActivityNet v1.3', 'THUMOS14',
                                                     'EPIC-Kitchens 100'), where
            for res in m['Results']:
                assert res['Task'] == 'Temporal Action Localization', where
                assert res['Metrics'] and all(0 < v <= 100 for v in res['Metrics'].values())
            if 'Weights' in m:
                assert m['Weights'].startswith('https://') and m['Weights'].endswith('.pth')


def _without_pretrained(model_cfg):
    """The model config with every ``pretrained`` path set to None: backbone checkpoints
    (AFSD's I3D) are local files the user supplies, not part of the repository."""
    if isinstance(model_cfg, dict):
        return {k: None if k == 'pretrained' else _without_pretrained(v)
                for k, v in model_cfg.items()}
    if isinstance(model_cfg, (list, tuple)):
        return type(model_cfg)(_without_pretrained(v) for v in model_cfg)
    return model_cfg


@pytest.mark.parametrize('rel,model', MODELS_LISTED, ids=[m['Name'] for _, m in MODELS_LISTED])
def test_every_listed_config_loads(rel, model):
    configs = [model['Config']] + list(model['Metadata'].get('configs', []))
    assert model['Config'] in configs[1:] or len(configs) == 1
    for cfg_rel in configs:
        path = osp.join(REPO, cfg_rel)
        assert osp.isfile(path), f'{rel}: {model["Name"]}: config {cfg_rel} not found'
        cfg = Config.fromfile(path)
        if 'model' not in cfg:  # BSN PGM: a file-level step, no network
            assert 'pgm_proposals_cfg' in cfg and 'pgm_features_test_cfg' in cfg
            continue
        net = MODELS.build(_without_pretrained(cfg.model))
        if type(net).__name__ in ('BMN', 'TEM'):
            assert net.feat_dim == FEATURE_DIM[model['Metadata']['feature']], cfg_rel
            assert cfg.test_dataloader.batch_size >= 1


def test_openmmlab_model_index_checker():
    modelindex = pytest.importorskip('modelindex.load_model_index')
    index = modelindex.load(osp.join(REPO, 'model-index.yml'))
    assert index.check(silent=True) == []
    assert sorted(m.name for m in index.models) == sorted(m['Name'] for _, m in MODELS_LISTED)
