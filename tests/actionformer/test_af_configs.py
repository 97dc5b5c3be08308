"""Every ActionFormer / TriDet config builds: the model (parameter counts of the official
configs, actionformer-spec §2.8 / §3.5), the train and test pipelines, and the official
hyperparameters of the EPIC-Kitchens verb and noun configs (spec §5, §7)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import Compose

from mmloc.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/localization/actionformer/*.py'))
                 + glob.glob(osp.join(REPO, 'configs/localization/tridet/*.py')))
#: parameter counts of models built from the official configs (spec §2.8, §3.5)
UPSTREAM_PARAMS = {
    'actionformer_i3d_thumos14': 29_251_612, 'actionformer_tsp_anet': 6_943_497,
    'actionformer_slowfast_epic': 29_763_177, 'actionformer_slowfast_epic_noun': 30_075_188,
    'tridet_i3d_thumos14': 15_989_604, 'tridet_tsp_anet': 12_811_555,
    'tridet_slowfast_epic': 18_594_123, 'tridet_slowfast_epic_noun': 19_503_532,
}


def _name(path: str) -> str:
    return osp.splitext(osp.basename(path))[0]


def test_every_official_config_is_listed():
    assert set(UPSTREAM_PARAMS) <= {_name(p) for p in CONFIGS}


@pytest.mark.parametrize('path', CONFIGS, ids=[_name(p) for p in CONFIGS])
def test_config_builds_model_and_pipelines(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    params = sum(p.numel() for p in model.parameters())
    if _name(path) in UPSTREAM_PARAMS:
        assert params == UPSTREAM_PARAMS[_name(path)]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = cfg[loader].dataset.pipeline
        assert len(Compose(pipeline).transforms) == len(pipeline) >= 2, loader
    assert cfg.train_dataloader.dataset.ann_file.startswith(cfg.get('data_root', 'data'))


# (config, classes, smoothing, window, warm-up + total epochs, eta_min, annotation file tail)
EPIC = [
    ('actionformer/actionformer_slowfast_epic', 97, 0.0, 9, (5, 21), 1e-8, 'verb.json'),
    ('actionformer/actionformer_slowfast_epic_noun', 300, 0.1, 9, (5, 21), 1e-8, 'noun.json'),
    ('tridet/tridet_slowfast_epic', 97, 0.0, 5, (5, 27), 5e-5, 'verb.json'),
    ('tridet/tridet_slowfast_epic_noun', 300, 0.1, 1, (5, 19), 1e-8, 'noun.json'),
]


@pytest.mark.parametrize('rel, classes, smoothing, window, epochs, eta_min, ann', EPIC,
                         ids=[e[0].split('/')[1] for e in EPIC])
def test_epic_configs_have_the_official_hyperparameters(rel, classes, smoothing, window,
                                                        epochs, eta_min, ann):
    cfg = Config.fromfile(osp.join(REPO, 'configs/localization', rel + '.py'))
    m = cfg.model
    assert (m.num_classes, m.loss.label_smoothing, m.backbone.windows) == (classes, smoothing,
                                                                          window)
    assert m.loss.init_loss_norm == 250 and m.max_buffer_len_factor == 4.0
    assert m.regression_ranges == [(0, 4), (2, 8), (4, 16), (8, 32), (16, 64), (32, 10000)]
    assert (m.test_cfg.pre_nms_topk, m.test_cfg.max_seg_num, m.test_cfg.nms_sigma) == (
        5000, 2000, 0.4)
    if m.type == 'TriDet':
        assert (m.backbone.k, m.loss.iou_weight_power, m.input_noise) == (
            2 if classes == 97 else 4, 0.25, 0.0)
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.end, cfg.train_cfg.max_epochs) == (epochs[0], epochs[1],
                                                                 epochs[1])
    assert cosine.eta_min == eta_min
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.ann_file.endswith('epic_kitchens_100_' + ann), loader
    assert cfg.train_dataloader.dataset.subset == 'training'
    assert cfg.test_dataloader.dataset.subset == 'validation'
