"""convert_annotations.py (each input format) and check_dataset.py (each problem)."""
import importlib.util
import json
import os.path as osp
import shutil

import numpy as np
import pytest

from mmloc.utils.cli import run_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, f'tools/data/{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


convert_tool, check_tool = _tool('convert_annotations'), _tool('check_dataset')


def _run(tool, argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_tool(tool.main, argv)
    cap = capsys.readouterr()
    return info.value.code, cap.out + cap.err


@pytest.fixture(scope='module')
def own(tmp_path_factory):
    """Two synthetic videos, their features + sidecars (tiny random extractor)."""
    pytest.importorskip('av')
    from mmloc.apis.extraction import FeatureExtractor, save_features
    from mmloc.testing.synthetic_video import write_video
    root = tmp_path_factory.mktemp('own')
    ext = FeatureExtractor(osp.join(REPO, 'configs/extractors/tiny3d_rgb_demo.py'),
                           random_init=True)
    for vid in ('a', 'b'):
        write_video(str(root / 'videos' / f'{vid}.mp4'), 6.0, 10, [(1.0, 3.0, 0)])
        feats, side = ext.extract(str(root / 'videos' / f'{vid}.mp4'))
        save_features(str(root / 'feats' / f'{vid}.npy'), feats, side)
    (root / 'labels.csv').write_text('video,start_s,end_s,label\na,1.0,3.0,jump\n'
                                     'b,0.5,2.5,run\nb,3.0,5.5,jump\n')
    (root / 'split.csv').write_text('video,subset\na,training\nb,validation\n')
    return root


def test_plain_csv_with_sidecar_durations(own, tmp_path, capsys):
    out = tmp_path / 'set'
    convert_tool.main([str(own / 'labels.csv'), '--features', str(own / 'feats'),
                       '--splits', str(own / 'split.csv'), '--out', str(out)])
    data = json.loads((out / 'annotations.json').read_text())
    assert data['classes'] == ['jump', 'run']
    b = data['database']['b']
    assert b['subset'] == 'validation' and b['duration'] == 6.0 and b['fps'] == 10.0
    assert b['annotations'][1] == dict(segment=[3.0, 5.5], label='jump', label_id=0)
    capsys.readouterr()


def test_frames_csv_thumos_and_json_layouts(own, tmp_path, capsys):
    frames = tmp_path / 'frames.csv'
    frames.write_text('video,start_frame,end_frame,label\na,10,30,jump\n')
    code, msg = _run(convert_tool, [str(frames), '--videos', str(own / 'videos'), '--out',
                                    str(tmp_path / 'x')], capsys)
    assert code == 2 and 'give --fps' in msg
    convert_tool.main([str(frames), '--fps', '10', '--videos', str(own / 'videos'),
                       '--out', str(tmp_path / 'f')])
    seg = json.loads((tmp_path / 'f/annotations.json').read_text())['database']['a']
    assert seg['annotations'][0]['segment'] == [1.0, 3.0] and seg['duration'] == 6.0
    thumos = tmp_path / 'thumos'
    thumos.mkdir()
    (thumos / 'HighJump_val.txt').write_text('a 1.0 2.0\nb 0.5 1.5\n')
    (thumos / 'Ambiguous_val.txt').write_text('a 4.0 4.5\n')
    convert_tool.main([str(thumos), '--features', str(own / 'feats'), '--subset', 'validation',
                       '--layout', 'mmaction2', '--out', str(tmp_path / 't')])
    anno = json.loads((tmp_path / 't/anno_validation.json').read_text())
    assert {a['label'] for a in anno['a']['annotations']} == {'HighJump', 'Ambiguous'}
    assert anno['a']['duration_frame'] == 60 and anno['a']['feature_frame'] == 60
    # ActionFormer / OpenTAD (database) JSON with its own durations
    af = tmp_path / 'af.json'
    af.write_text(json.dumps({'database': {'a': {'subset': 'training', 'duration': 6.0,
                                                 'fps': 10, 'annotations': [
                                                     {'segment': [1, 2], 'label': 'x'}]}}}))
    convert_tool.main([str(af), '--out', str(tmp_path / 'a')])
    assert json.loads((tmp_path / 'a/annotations.json').read_text())['classes'] == ['x']
    # no duration anywhere: an error listing the videos
    code, msg = _run(convert_tool, [str(own / 'labels.csv'), '--out', str(tmp_path / 'n')],
                     capsys)
    assert code == 2 and "have no duration" in msg and "'a'" in msg
    capsys.readouterr()


CONFIG = """
_feat = '{feats}'
_ds = dict(type='FeatureDataset', ann_file='{ann}', data_prefix=dict(feature=_feat),
           feature_name_tmpl='{{}}.npy', feat_stride=4, feat_num_frames=8, fps=10,
           fit_mode='pad', num_steps=32,
           pipeline=[dict(type='LoadLocalizationFeature', feat_dim=64)])
train_dataloader = dict(dataset=dict(_ds, subset='training'))
test_dataloader = dict(dataset=dict(_ds, subset='validation'))
"""


def test_check_dataset_ok_then_each_problem(own, tmp_path, capsys):
    set_dir = tmp_path / 'set'
    convert_tool.main([str(own / 'labels.csv'), '--features', str(own / 'feats'),
                       '--splits', str(own / 'split.csv'), '--out', str(set_dir)])
    feats = tmp_path / 'feats'
    shutil.copytree(own / 'feats', feats)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CONFIG.format(feats=feats, ann=set_dir / 'annotations.json'))
    check_tool.main([str(cfg)])
    assert 'the data set matches the config' in capsys.readouterr().out
    # break it: b's features too short for its sidecar, a's missing, a wrong label, a segment
    # past the end, a duplicate id
    np.save(feats / 'b.npy', np.load(feats / 'b.npy')[:5])
    (feats / 'a.npy').unlink()
    data = json.loads((set_dir / 'annotations.json').read_text())
    data['database']['b']['annotations'].append(dict(segment=[5.0, 9.0], label='fly'))
    (set_dir / 'annotations.json').write_text(json.dumps(data))
    code, msg = _run(check_tool, [str(cfg)], capsys)
    assert code == 2
    assert 'train: error: missing feature file: 1 video(s)' in msg
    assert 'test: error: feature length differs from its sidecar: 1 video(s)' in msg
    assert 'b.npy: 5 feature rows, but its sidecar' in msg
    assert "label not in the class list: 1 video(s)" in msg and "'fly'" in msg
    assert 'segment outside the video' in msg
    text = (set_dir / 'annotations.json').read_text()
    (set_dir / 'annotations.json').write_text(text[:-2] + ', "b": {"annotations": []}}}')
    code, msg = _run(check_tool, [str(cfg)], capsys)
    assert code == 2 and 'duplicate video id' in msg
    # a width that differs from the config; a missing annotation file
    convert_tool.main([str(own / 'labels.csv'), '--features', str(own / 'feats'),
                       '--splits', str(own / 'split.csv'), '--out', str(tmp_path / 'set2')])
    cfg.write_text(CONFIG.format(feats=own / 'feats', ann=tmp_path / 'set2/annotations.json')
                   .replace('feat_dim=64', 'feat_dim=400'))
    code, msg = _run(check_tool, [str(cfg)], capsys)
    assert code == 2 and 'feature width differs from the config: 1 video(s)' in msg
    assert 'a.npy: 64 columns, config feat_dim 400' in msg
    cfg.write_text(CONFIG.format(feats=own / 'feats', ann=own / 'nope.json'))
    code, msg = _run(check_tool, [str(cfg)], capsys)
    assert code == 2 and 'nope.json: file not found' in msg
