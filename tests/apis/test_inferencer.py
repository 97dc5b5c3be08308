"""LocalizationInferencer: bit-identity with the hand-built inference it replaces, the test
pipeline it derives, the dataset fields it gives, batching, chains, in-memory inputs, errors."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

import inference_data as data
from legacy_inference import legacy_inference_localizer
from mmloc.apis import LocalizationInferencer, inference_localizer, init_localizer
from mmloc.apis import inferencer as inferencer_module
from mmloc.apis.inferencer import adapt_test_pipeline
from mmloc.datasets.transforms.resample import resample_feature
from mmloc.registry import DATASETS
from mmloc.structures import TimeGrid


@pytest.fixture(scope='module')
def model(tiny_bmn):
    return init_localizer(tiny_bmn['config'], tiny_bmn['checkpoint'])


@pytest.fixture(scope='module')
def bmn(tmp_path_factory):
    return data.make_bmn(tmp_path_factory.mktemp('bmn_data'))


@pytest.fixture(scope='module')
def bsn(tmp_path_factory):
    return data.make_bsn(tmp_path_factory.mktemp('bsn_data'))


@pytest.mark.parametrize('length', [1, 2, 5, 16, 41, 130])
def test_bit_identical_to_the_hand_built_inference(model, tiny_bmn, length, tmp_path):
    """test pipeline + ResizeFeature + collate + test_step == the old resample + hand-made
    data sample + predict, exactly (floats compared with ==)."""
    feat = np.random.default_rng(length).random((length, tiny_bmn['C']), dtype=np.float32)
    for kwargs in (dict(duration_s=122.99), dict(fps=29.97), dict(fps=25.0, frames_per_snippet=8),
                   dict(duration_s=0.5)):
        assert inference_localizer(model, feat, **kwargs) == \
            legacy_inference_localizer(model, feat, **kwargs)
    npy = tmp_path / 'v_x.npy'
    np.save(npy, feat)
    assert inference_localizer(model, str(npy), duration_s=7.0) == \
        legacy_inference_localizer(model, str(npy), duration_s=7.0)
    # the inferencer reading the file itself (the pipeline's LoadLocalizationFeature)
    out = LocalizationInferencer(model)(str(npy), duration_s=7.0)['predictions'][0]
    assert [{'score': s, 'segment': g} for g, s in zip(out['segments'], out['scores'])] == \
        legacy_inference_localizer(model, str(npy), duration_s=7.0)
    assert out['video_name'] == 'v_x'


def test_the_test_pipeline_is_adapted_not_rebuilt():
    pipeline = [dict(type='LoadLocalizationFeature', temporal_dim=100, feat_dim=400, cache=True),
                dict(type='PackLocalizationInputs', meta_keys=('video_name', ))]
    assert adapt_test_pipeline(pipeline) == [
        dict(type='LoadLocalizationFeature', temporal_dim=None, feat_dim=400, cache=False),
        dict(type='ResizeFeature', num_steps=100),
        dict(type='PackLocalizationInputs', meta_keys=('video_name', ))]
    # no fixed window, or a resize already there: only the cache is switched off
    free = [dict(type='LoadLocalizationFeature', feat_dim=8), dict(type='SegmentsToGrid')]
    assert adapt_test_pipeline(free)[0] == dict(type='LoadLocalizationFeature', feat_dim=8,
                                                cache=False)
    assert len(adapt_test_pipeline(free)) == 2
    other = [dict(type='SampleProposalFrames', mode='test'), dict(type='SSNLoadFeatures')]
    assert adapt_test_pipeline(other) == other
    assert pipeline[0]['temporal_dim'] == 100  # the config is not modified


def test_bmn_equals_the_datasets_own_items(bmn, tmp_path):
    """Given a record's fields (meta), the inferencer's data equal the test dataset's, so the
    predictions equal test_step on the dataset items, also for records whose duration_frame
    is not a whole number of snippets (output seconds != duration_second, spec §1.3)."""
    records = json.loads(open(bmn['ann']).read())
    for rec in records.values():
        rec['duration_frame'] += 5
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(records))
    cfg = Config.fromfile(bmn['config'])
    cfg.test_dataloader.dataset.ann_file = str(ann)
    inferencer = LocalizationInferencer(cfg, bmn['checkpoint'], device='cpu')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    with torch.no_grad():
        ref = inferencer.model.test_step(pseudo_collate([dataset[i] for i in range(3)]))
    videos = [dict(input=osp.join(bmn['features'], name + '.csv'),
                   duration_s=rec['duration_second'], duration_frame=rec['duration_frame'],
                   feature_frame=rec['feature_frame']) for name, rec in records.items()]
    # the same batches as the reference: batching changes float32 rounding (BLAS), see below
    out = inferencer(videos, batch_size=3, return_datasamples=True)
    for got, want, pred in zip(out['data_samples'], ref, out['predictions']):
        for key in ('video_name', 'duration_second', 'duration_frame', 'feature_frame'):
            assert got.metainfo[key] == want.metainfo[key]
        assert torch.equal(got.pred_instances.segments, want.pred_instances.segments)
        assert torch.equal(got.pred_instances.scores, want.pred_instances.scores)
        assert pred['segments'] == want.pred_instances.segments.tolist()
    # without the record's frames, the outputs scale by the duration exactly
    plain = inferencer([dict(input=v['input'], duration_s=v['duration_s']) for v in videos],
                       batch_size=3)
    for pred, want in zip(plain['predictions'], ref):
        scale = want.metainfo['duration_second'] / TimeGrid.from_metainfo(
            want.metainfo, bmn['T']).output_span_s
        np.testing.assert_allclose(pred['segments'],
                                   want.pred_instances.segments.numpy() * scale, rtol=1e-12)


def test_batches_give_the_same_predictions(bmn):
    """Up to float32 rounding: PyTorch's CPU kernels accumulate differently for another batch
    size (scores differ by up to ~3e-5 relative); the same batches give the same bits."""
    inferencer = LocalizationInferencer(bmn['config'], bmn['checkpoint'], device='cpu')
    files = [osp.join(bmn['features'], f'v_bmn{c}.csv') for c in 'ABC']
    one = inferencer(files, duration_s=33.0)['predictions']
    three = inferencer(files, duration_s=33.0, batch_size=3)['predictions']
    assert [p['video_name'] for p in one] == ['v_bmnA', 'v_bmnB', 'v_bmnC']
    for a, b in zip(one, three):
        assert a['segments'] == b['segments']
        np.testing.assert_allclose(a['scores'], b['scores'], rtol=1e-4, atol=1e-6)
    # a folder stands for its feature files (sorted)
    assert inferencer(bmn['features'], duration_s=33.0, batch_size=3)['predictions'] == three


def test_bsn_chain_equals_the_stages_run_one_by_one(bsn):
    """TEM test_step -> PGM + BSP in memory -> PEM's test pipeline == the same stages with the
    files of the chain in between (the float32 reads included)."""
    from mmloc.apis.bsn_pgm_runner import pgm_one_video
    from mmloc.datasets.transforms.proposal_loading import (read_tem_results, write_bsp_feature,
                                                            write_proposals, write_tem_results)
    chain = LocalizationInferencer(bsn['tem_config'], bsn['tem_checkpoint'], device='cpu',
                                   next_stage=(bsn['pem_config'], bsn['pem_checkpoint']),
                                   link_cfg=bsn['pgm_config'])
    video = dict(input=osp.join(bsn['features'], 'v_bsnA.csv'), duration_s=75.3)
    got = chain(video)['predictions'][0]
    # by hand, through files
    tem_only = LocalizationInferencer(bsn['tem_config'], bsn['tem_checkpoint'], device='cpu')
    tem_out = tem_only(video, return_datasamples=True)
    assert tem_out['predictions'] == [None]
    pred_tem = tem_out['data_samples'][0].pred_tem
    root = osp.join(bsn['work'], 'by_hand')
    write_tem_results(osp.join(root, 'tem.csv'), pred_tem)
    proposals, bsp = pgm_one_video(read_tem_results(osp.join(root, 'tem.csv')), None,
                                   **chain.link.kwargs)
    write_proposals(osp.join(root, 'props', 'v_bsnA.csv'), proposals)
    write_bsp_feature(osp.join(root, 'feats', 'v_bsnA.npy'), bsp)
    pem_cfg = Config.fromfile(bsn['pem_config'])
    pem_cfg.test_dataloader.dataset.pipeline[0].update(
        pgm_proposals_dir=osp.join(root, 'props'), pgm_features_dir=osp.join(root, 'feats'))
    pem = LocalizationInferencer(pem_cfg, bsn['pem_checkpoint'], device='cpu')
    want = pem(video)['predictions'][0]
    assert got == want and len(got['scores']) == 100
    assert all(0 <= s < e <= 75.3 for s, e in got['segments'])


def test_tem_alone_and_chain_errors(bsn, tiny_bmn):
    tem = LocalizationInferencer(bsn['tem_config'], bsn['tem_checkpoint'], device='cpu')
    video = dict(input=osp.join(bsn['features'], 'v_bsnB.csv'), duration_s=12.9)
    with pytest.raises(TypeError, match=r"no proposals .*chain link 'bsn_pgm'.*next_stage"):
        tem(video)
    out = tem(video, return_datasamples=True)
    assert out['data_samples'][0].pred_tem.shape == (100, 5)
    with pytest.raises(ValueError, match='needs PGM settings: give link_cfg'):
        LocalizationInferencer(bsn['tem_config'], device='cpu',
                               next_stage=(bsn['pem_config'], None))
    with pytest.raises(ValueError, match='BMN: the model states no chain_link'):
        LocalizationInferencer(tiny_bmn['config'], device='cpu',
                               next_stage=(bsn['pem_config'], None), link_cfg=bsn['pgm_config'])


def test_inputs_and_their_errors(model, tiny_bmn, tmp_path):
    inferencer = LocalizationInferencer(model)
    feat = np.random.default_rng(0).random((20, tiny_bmn['C']), dtype=np.float32)
    by_array = inferencer(feat, duration_s=10.0)['predictions'][0]
    by_tensor = inferencer(torch.from_numpy(feat), duration_s=10.0)['predictions'][0]
    by_dict = inferencer([dict(input=feat, video_name='v_mine', duration_s=10.0)])
    assert by_array['video_name'] == 'video_0'
    assert by_dict['predictions'][0]['video_name'] == 'v_mine'
    assert by_array['segments'] == by_tensor['segments'] == by_dict['predictions'][0]['segments']
    with pytest.raises(ValueError, match='give duration_s, or fps'):
        inferencer(feat)
    with pytest.raises(ValueError, match='needs "input"'):
        inferencer([dict(feature=feat)])
    with pytest.raises(ValueError, match=r'expected a \(L, C\) feature array'):
        inferencer(np.zeros((0, tiny_bmn['C']), np.float32), duration_s=1.0)
    bad = tmp_path / 'v_bad.npy'
    np.save(bad, np.zeros((16, tiny_bmn['C'] + 4), np.float32))
    with pytest.raises(ValueError, match=r'v_bad.npy: video v_bad: expected 16 feature columns'):
        inferencer(str(bad), duration_s=3.0)


def test_progress_bar_only_on_a_terminal(model, tiny_bmn, monkeypatch):
    made = []

    class Bar:
        def __init__(self, n):
            made.append(n)
            self.file = type('F', (), {'write': lambda *a: None, 'flush': lambda *a: None})()

        def update(self):
            made.append('tick')

    monkeypatch.setattr(inferencer_module, 'ProgressBar', Bar)
    inferencer = LocalizationInferencer(model)
    feats = [np.ones((8, tiny_bmn['C']), np.float32) * i for i in range(3)]
    inferencer(feats, duration_s=5.0)
    assert made == []  # pytest's stdout is not a terminal
    monkeypatch.setattr(inferencer_module.sys.stdout, 'isatty', lambda: True, raising=False)
    inferencer(feats, duration_s=5.0)
    inferencer(feats[:1], duration_s=5.0)  # one video: no bar
    assert made == [3, 'tick', 'tick', 'tick']


def test_model_only_config_gets_a_feature_pipeline(tiny_bmn):
    inferencer = LocalizationInferencer(tiny_bmn['config'], tiny_bmn['checkpoint'],
                                        device='cpu')
    names = [type(t).__name__ for t in inferencer.pipeline.transforms]
    assert names == ['LoadLocalizationFeature', 'ResizeFeature', 'PackLocalizationInputs']
    assert inferencer.pipeline.transforms[1].num_steps == tiny_bmn['T']


def test_resampling_is_the_spec_rule(model, tiny_bmn):
    feat = np.random.default_rng(5).random((33, tiny_bmn['C']), dtype=np.float32)
    assert inference_localizer(model, feat, duration_s=9.0) == \
        inference_localizer(model, resample_feature(feat, tiny_bmn['T']), duration_s=9.0)
