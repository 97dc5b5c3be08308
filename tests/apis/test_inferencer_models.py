"""tools/infer.py for every method (BMN, the BSN chain in one call, SSN on features, AFSD on
frames and on features, a model registered in this file) on tiny random-weight models: the
outputs are predictions in seconds within the video, and they equal what tools/test.py writes
for the same videos (the Runner path; the BSN reference is TEM test -> PGM files -> PEM test).

With the test config's batch size and the videos in the same order the numbers are
bit-identical; another batching changes float32 rounding only (tests/apis/test_inferencer.py).
"""
import importlib.util
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import nn

import inference_data as data
from mmloc.apis import LocalizationInferencer
from mmloc.apis.bsn_pgm_runner import run_pgm_from_config
from mmloc.evaluation.formats import read_results
from mmloc.registry import MODELS
from mmloc.structures import Segments

REPO = data.REPO


def _tool(name):
    spec = importlib.util.spec_from_file_location(f'{name}_tool', osp.join(REPO, 'tools',
                                                                          f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


infer_tool = _tool('infer')
test_tool = _tool('test')


@pytest.fixture
def tools(monkeypatch, tmp_path):
    """``test(config, ckpt, *args)`` runs tools/test.py in this process; ``infer(*argv)``."""
    # mmengine formats the whole config with yapf for every dump (most of a Runner's start-up
    # on 2 cores); a plain repr is enough here.
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: repr(self.to_dict())))

    def test(config, checkpoint, *args):
        monkeypatch.setattr(sys, 'argv', ['tools/test.py', config, checkpoint, '--work-dir',
                                          str(tmp_path / 'work'), *args])
        test_tool.main()

    def infer(*argv):
        return infer_tool.main([str(a) for a in argv])
    return dict(test=test, infer=infer)


def _listing(path, files_and_durations):
    path.write_text(''.join(f'{f} {d}\n' if d is not None else f'{f}\n'
                            for f, d in files_and_durations))
    return str(path)


def _assert_same(got_file, want_file, durations, labels=False):
    got, want = read_results(got_file), read_results(want_file)
    assert set(got) == set(want) == set(durations)
    for vid, duration_s in durations.items():
        assert len(got[vid]['scores']) > 0
        np.testing.assert_array_equal(got[vid]['segments'], want[vid]['segments'])
        np.testing.assert_array_equal(got[vid]['scores'], want[vid]['scores'])
        assert got[vid]['labels'] == want[vid]['labels']
        assert (got[vid]['labels'] is not None) == labels
        seg = got[vid]['segments']
        assert np.all(seg >= 0) and np.all(seg <= duration_s + 1e-6), vid
        assert np.all(seg[:, 1] >= seg[:, 0])
        assert np.all(np.diff(got[vid]['scores']) <= 0)


# ----------------------------------------------------------------------------- BMN
def test_bmn(tools, tmp_path):
    bmn = data.make_bmn(tmp_path / 'data')
    ref = tmp_path / 'test_results.json'
    tools['test'](bmn['config'], bmn['checkpoint'], '--out', str(ref))
    records = json.loads(open(bmn['ann']).read())
    listing = _listing(tmp_path / 'videos.txt', [(osp.join(bmn['features'], f'{n}.csv'),
                                                  r['duration_second'])
                                                 for n, r in records.items()])
    tools['infer'](bmn['config'], bmn['checkpoint'], '--input', listing, '--out',
                   tmp_path / 'infer', '--batch-size', 2)
    _assert_same(tmp_path / 'infer' / 'results.json', ref,
                 {n[2:]: r['duration_second'] for n, r in records.items()})


# ----------------------------------------------------------------------------- BSN
def test_bsn_three_stages_in_one_call(tools, tmp_path):
    bsn = data.make_bsn(tmp_path / 'data')
    pgm = Config.fromfile(bsn['pgm_config'])
    # the file chain: TEM test (one CSV per video) -> PGM files -> PEM test
    tools['test'](bsn['tem_config'], bsn['tem_checkpoint'], '--out', pgm.tem_results_dir)
    assert run_pgm_from_config(pgm, 'test', workers=1, progress=False)['written'] == 3
    ref = tmp_path / 'test_results.json'
    tools['test'](bsn['pem_config'], bsn['pem_checkpoint'], '--out', str(ref))
    # one call, nothing written in between
    records = json.loads(open(bsn['ann_val']).read())
    listing = _listing(tmp_path / 'videos.txt', [(osp.join(bsn['features'], f'{n}.csv'),
                                                  r['duration_second'])
                                                 for n, r in records.items()])
    tools['infer'](bsn['tem_config'], bsn['tem_checkpoint'], '--pem-config', bsn['pem_config'],
                   '--pem-checkpoint', bsn['pem_checkpoint'], '--pgm-config', bsn['pgm_config'],
                   '--input', listing, '--out', tmp_path / 'infer', '--batch-size', 2)
    _assert_same(tmp_path / 'infer' / 'results.json', ref,
                 {n[2:]: r['duration_second'] for n, r in records.items()})
    # the generic option names are the same options
    args = infer_tool.parse_args(['a.py', 'a.pth', '--input', 'x.csv', '--out', 'o',
                                  '--next-config', 'p.py', '--next-checkpoint', 'p.pth',
                                  '--link-config', 'g.py'])
    assert (args.next_config, args.next_checkpoint, args.link_config) == ('p.py', 'p.pth',
                                                                         'g.py')


# ----------------------------------------------------------------------------- SSN
def test_ssn_on_features(tools, tmp_path):
    ssn = data.make_ssn(tmp_path / 'data')
    ref = tmp_path / 'test_results.json'
    tools['test'](ssn['config'], ssn['checkpoint'], '--eval', 'mAP', '--out', str(ref))
    listing = _listing(tmp_path / 'videos.txt', [(osp.join(ssn['features'], f'{v}.npy'), d)
                                                 for v, d in ssn['durations'].items()])
    results = tools['infer'](ssn['config'], ssn['checkpoint'], '--input', listing, '--fps',
                             ssn['fps'], '--out', tmp_path / 'infer')
    _assert_same(tmp_path / 'infer' / 'results.json', ref, ssn['durations'], labels=True)
    assert set(results['video_test_1']['labels']) <= set(data.SSN_CLASSES)
    # without fps the frames of the proposals are unknown
    with pytest.raises(SystemExit, match='SSN needs fps'):
        tools['infer'](ssn['config'], ssn['checkpoint'], '--input', listing, '--out',
                       tmp_path / 'no_fps')


def test_ssn_in_memory_features_are_time_first(tmp_path):
    ssn = data.make_ssn(tmp_path / 'data')
    inferencer = LocalizationInferencer(ssn['config'], ssn['checkpoint'], device='cpu')
    path = osp.join(ssn['features'], 'video_test_2.npy')
    by_file = inferencer(path, duration_s=9.5, fps=30.0)['predictions'][0]
    by_array = inferencer(dict(input=np.load(path).T, video_name='video_test_2'),
                          duration_s=9.5, fps=30.0)['predictions'][0]
    assert by_file == by_array


# ----------------------------------------------------------------------------- AFSD
@pytest.fixture(scope='module')
def afsd(tmp_path_factory):
    return data.make_afsd(tmp_path_factory.mktemp('afsd_data'))


@pytest.mark.parametrize('kind', ['frames', 'features'])
def test_afsd(tools, tmp_path, afsd, kind):
    cfg = afsd[kind]
    ref = tmp_path / 'test_results.json'
    tools['test'](cfg['config'], cfg['checkpoint'], '--eval', 'mAP', '--out', str(ref))
    folder = afsd['frames_dir'] if kind == 'frames' else afsd['features_dir']
    listing = _listing(tmp_path / 'videos.txt', [(osp.join(folder, f'{v}.npy'), None)
                                                 for v in afsd['durations']])
    tools['infer'](cfg['config'], cfg['checkpoint'], '--input', listing, '--fps', afsd['fps'],
                   '--out', tmp_path / 'infer')
    _assert_same(tmp_path / 'infer' / 'results.json', ref, afsd['durations'], labels=True)


def test_afsd_frames_array_and_duration(afsd):
    inferencer = LocalizationInferencer(afsd['frames']['config'], afsd['frames']['checkpoint'],
                                        device='cpu')
    path = osp.join(afsd['frames_dir'], 'video_test_a.npy')
    by_file = inferencer(path, fps=10.0)['predictions'][0]
    # the duration gives the frame rate: 72 frames in 7.2 s
    by_array = inferencer(dict(input=np.load(path), video_name='video_test_a', duration_s=7.2))
    assert by_array['predictions'][0] == by_file
    assert inferencer.classes == ('SynthJump', 'SynthThrow')


def test_afsd_rgb_flow_fusion_takes_one_input_per_modality(tmp_path):
    config = osp.join(REPO, 'configs/localization/afsd/afsd_synthetic_fusion.py')
    torch.manual_seed(0)
    inferencer = LocalizationInferencer(config, device='cpu')  # random weights
    rng = np.random.default_rng(0)
    arrays = dict(rgb=rng.integers(0, 256, (48, 40, 40, 3), dtype=np.uint8),
                  flow=rng.integers(0, 256, (48, 40, 40, 2), dtype=np.uint8))
    files = {}
    for m, arr in arrays.items():
        files[m] = str(tmp_path / f'{m}.npy')
        np.save(files[m], arr)
    by_files = inferencer(dict(input=files, video_name='v'), fps=10.0)['predictions'][0]
    by_arrays = inferencer(dict(input=arrays, video_name='v'), fps=10.0)['predictions'][0]
    assert by_files == by_arrays and len(by_files['scores']) > 0
    seg = np.asarray(by_files['segments'])
    assert np.all(seg >= 0) and np.all(seg <= 4.8 + 1e-6)
    with pytest.raises(ValueError, match=r"fuses \('rgb', 'flow'\)"):
        inferencer(files['rgb'], fps=10.0)


# ----------------------------------------------------------------------------- a new model
@MODELS.register_module(force=True)
class InferToyLocalizer(BaseModel):
    """Registered here only: actionness runs above 0.5 of a 1x1 conv, in grid units, through
    the video's time grid to seconds (FeatureDataset, pad mode, localization_collate)."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, 1, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        prob = self.conv(inputs)[:, 0].sigmoid()
        if mode == 'tensor':
            return prob
        for p, sample in zip(prob, data_samples):
            p = p[:sample.metainfo['valid_length']].detach().numpy()
            above = np.concatenate([[False], p > 0.5, [False]])
            edges = np.flatnonzero(np.diff(above.astype(int)))
            segs = [[a - 0.5, b - 0.5] for a, b in zip(edges[::2], edges[1::2])] or [[0, 1]]
            scores = [float(p[int(a + 0.5):int(b + 0.5)].mean()) for a, b in segs]
            grid = sample.metainfo['time_grid']
            seconds = Segments(np.asarray(segs, np.float64), 'index').to('second', grid)
            order = np.argsort(scores)[::-1]
            sample.pred_instances = InstanceData(
                segments=torch.from_numpy(grid.clip_seconds(seconds.numpy())[order]),
                scores=torch.tensor(scores, dtype=torch.float64)[order.copy()])
        return data_samples


TOY_CONFIG = """
default_scope = 'mmloc'
model = dict(type='InferToyLocalizer', in_channels=6)
_pipeline = [dict(type='LoadLocalizationFeature', feat_dim=6),
             dict(type='PackLocalizationInputs', meta_keys=('video_name', 'duration_second',
                                                            'annotations'))]
test_dataloader = dict(
    batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='localization_collate'),
    dataset=dict(type='FeatureDataset', ann_file='{root}/ann.json',
                 data_prefix=dict(feature='{root}/features'), feat_stride=4,
                 feat_num_frames=8, fps=10.0, fit_mode='pad', num_steps=64,
                 pipeline=_pipeline, test_mode=True))
test_evaluator = dict(type='ANetMetric', metric_type='AR@AN')
test_cfg = dict(type='TestLoop')
"""


def test_a_model_registered_later_goes_through_the_generic_path(tools, tmp_path):
    root = tmp_path / 'data'
    (root / 'features').mkdir(parents=True)
    rng = np.random.default_rng(0)
    database, durations = {}, {}
    for i, steps in enumerate((30, 57, 41)):
        vid = f'toy_{i}'
        np.save(root / 'features' / f'{vid}.npy', rng.normal(size=(steps, 6)).astype(np.float32))
        durations[vid] = (steps * 4 + 8) / 10.0
        database[vid] = dict(subset='validation', duration=durations[vid],
                             annotations=[dict(segment=[1.0, 2.0], label='a')])
    (root / 'ann.json').write_text(json.dumps(dict(database=database)))
    config = tmp_path / 'toy.py'
    config.write_text(TOY_CONFIG.replace('{root}', str(root)))
    torch.manual_seed(0)
    ckpt = tmp_path / 'toy.pth'
    torch.save({'state_dict': InferToyLocalizer(6).state_dict()}, str(ckpt))
    ref = tmp_path / 'test_results.json'
    tools['test'](str(config), str(ckpt), '--out', str(ref))
    listing = _listing(tmp_path / 'videos.txt', [(root / 'features' / f'{v}.npy', d)
                                                 for v, d in durations.items()])
    tools['infer'](config, ckpt, '--input', listing, '--out', tmp_path / 'infer',
                   '--batch-size', 2)
    _assert_same(tmp_path / 'infer' / 'results.json', ref, durations)
