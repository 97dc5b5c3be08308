"""Tiny seeded data sets and random-weight models in each method's real on-disk layout, for
the inferencer / tools/infer.py tests (parity with tools/test.py).

Each ``make_*`` writes the data and a config (the method's synthetic-demo config with small
layers and the data paths changed, dumped as a .py file), plus a seeded random checkpoint.
"""
import csv
import json
import os
import os.path as osp

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs', 'localization')


def _config(path):
    from mmengine.config import Config
    from mmloc.utils import register_all_modules
    register_all_modules()
    return Config.fromfile(osp.join(CONFIGS, path))


def random_checkpoint(cfg, path, seed, scale=0.5):
    """A seeded random ``state_dict`` of ``cfg.model`` in the mmengine checkpoint layout."""
    from mmloc.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()}, str(path))
    return str(path)


def _dump(cfg, path):
    """The config as a .py of plain assignments (no yapf formatting: fast, and independent
    of ``Config.pretty_text``)."""
    with open(path, 'w') as f:
        f.writelines(f'{key} = {value!r}\n' for key, value in cfg.to_dict().items())
    return str(path)


# ----------------------------------------------------------------------------- ActivityNet
def write_activitynet(root, videos, rows, channels, seed):
    """``videos``: ``{v_name: duration_s}``; ``duration_frame`` is a multiple of 16, so the
    output seconds of a record are exactly its duration (spec §1.3). CSV features (rows, C)."""
    rng = np.random.default_rng(seed)
    feat_dir = osp.join(root, 'features')
    os.makedirs(feat_dir, exist_ok=True)
    records = {}
    for name, duration_s in videos.items():
        frames = int(round(duration_s * 30 / 16)) * 16
        a, b = sorted(rng.uniform(0, duration_s, 2))
        records[name] = dict(duration_second=duration_s, duration_frame=frames,
                             feature_frame=frames,
                             annotations=[dict(segment=[float(a), float(b)], label='a')])
        feat = np.round(rng.random((rows, channels)), 4)
        np.savetxt(osp.join(feat_dir, name + '.csv'), feat, delimiter=',', fmt='%.4f',
                   header=','.join(f'f{i}' for i in range(channels)), comments='')
    ann = osp.join(root, f'anno_{seed}.json')
    with open(ann, 'w') as f:
        json.dump(records, f)
    return ann, feat_dir


def make_bmn(root, T=32, C=16):
    root = str(root)
    ann, feats = write_activitynet(root, {'v_bmnA': 61.5, 'v_bmnB': 17.2, 'v_bmnC': 120.0}, T,
                                   C, seed=1)
    cfg = _config('bmn/bmn_synthetic_demo.py')
    cfg.model.update(temporal_dim=T, feat_dim=C, hidden_dim_1d=16, hidden_dim_2d=8,
                     hidden_dim_3d=16, num_samples=4, num_samples_per_bin=2,
                     post_process_top_k=20)
    cfg.test_dataloader.update(batch_size=2)
    cfg.test_dataloader.dataset.update(ann_file=ann, data_prefix=dict(video=feats))
    cfg.test_dataloader.dataset.pipeline[0].update(temporal_dim=T, feat_dim=C)
    config = _dump(cfg, osp.join(root, 'bmn_tiny.py'))
    return dict(config=config, checkpoint=random_checkpoint(cfg, osp.join(root, 'bmn.pth'), 3),
                ann=ann, features=feats, T=T, C=C)


def make_bsn(root, C=16):
    """TEM (T = 100, as PGM's temporal_scale), PGM and PEM configs of the synthetic demo."""
    root = str(root)
    ann_train, feats = write_activitynet(root, {'v_trainA': 30.0, 'v_trainB': 44.0}, 100, C,
                                         seed=2)
    ann_val, _ = write_activitynet(root, {'v_bsnA': 75.3, 'v_bsnB': 12.9, 'v_bsnC': 200.0},
                                   100, C, seed=3)
    tem = _config('bsn/bsn_tem_synthetic_demo.py')
    tem.model.update(tem_feat_dim=C, tem_hidden_dim=32)
    tem.test_dataloader.update(batch_size=2)
    for ds, ann in zip(tem.test_dataloader.dataset.datasets, (ann_train, ann_val)):
        ds.update(ann_file=ann, data_prefix=dict(video=feats))
        ds.pipeline[0].update(feat_dim=C)
    pgm = _config('bsn/bsn_pgm_synthetic_demo.py')
    work = osp.join(root, 'work')
    pgm.update(ann_file_train=ann_train, ann_file_val=ann_val,
               tem_results_dir=osp.join(work, 'tem'), pgm_proposals_dir=osp.join(work, 'props'),
               pgm_features_dir=osp.join(work, 'feats'))
    pem = _config('bsn/bsn_pem_synthetic_demo.py')
    pem.model.update(pem_hidden_dim=16)
    pem.test_dataloader.update(batch_size=2)
    pem.test_dataloader.dataset.update(ann_file=ann_val)
    pem.test_dataloader.dataset.pipeline[0].update(pgm_proposals_dir=pgm.pgm_proposals_dir,
                                                   pgm_features_dir=pgm.pgm_features_dir)
    return dict(tem_config=_dump(tem, osp.join(root, 'tem_tiny.py')),
                tem_checkpoint=random_checkpoint(tem, osp.join(root, 'tem.pth'), 4),
                pgm_config=_dump(pgm, osp.join(root, 'pgm_tiny.py')),
                pem_config=_dump(pem, osp.join(root, 'pem_tiny.py')),
                pem_checkpoint=random_checkpoint(pem, osp.join(root, 'pem.pth'), 5, scale=1.0),
                ann_val=ann_val, features=feats, work=work, C=C)


# ----------------------------------------------------------------------------- SSN
SSN_CLASSES = ['SynthAction00', 'SynthAction01', 'SynthAction02', 'SynthAction03',
               'SynthAction04']


def write_thumos(root, name, videos, channels, seed, snippet_frames=8, fps=30.0):
    """SSNFeatureDataset layout: JSON in seconds + (C, T) features; ``videos``:
    ``{video_id: (duration_s, [(start_frame, length, class)])}``."""
    rng = np.random.default_rng(seed)
    feat_dir = osp.join(root, 'features')
    os.makedirs(feat_dir, exist_ok=True)
    records = {}
    for vid, (duration_s, actions) in videos.items():
        records[vid] = dict(duration_second=duration_s, fps=fps, annotations=[
            dict(segment=[s / fps, (s + n) / fps], label=SSN_CLASSES[c]) for s, n, c in actions])
        steps = int(np.ceil(duration_s * fps / snippet_frames))
        np.save(osp.join(feat_dir, vid + '.npy'),
                rng.normal(size=(channels, steps)).astype(np.float32))
    ann = osp.join(root, name)
    with open(ann, 'w') as f:
        json.dump(records, f)
    return ann, feat_dir


def make_ssn(root, C=16):
    root = str(root)
    # actions as long as a sliding window (96 / 128 frames): positive proposals exist
    train, feats = write_thumos(root, 'train.json', {
        'video_train_1': (20.0, [(60, 96, 0), (300, 128, 2)]),
        'video_train_2': (15.0, [(100, 96, 1)])}, C, seed=6)
    test, _ = write_thumos(root, 'test.json', {
        'video_test_1': (18.0, [(40, 96, 3)]),
        'video_test_2': (9.5, [(120, 64, 1)])}, C, seed=7)
    cfg = _config('ssn/ssn_synthetic_demo_test.py')
    cfg.model.backbone.update(in_channels=C, hidden=(16, ))
    cfg.model.cls_head.update(in_channels=16)
    cfg.test_dataloader.dataset.update(
        ann_file=test, data_prefix=dict(video=feats),
        reg_normalize_constants=dict(ann_file=train))
    return dict(config=_dump(cfg, osp.join(root, 'ssn_tiny.py')),
                checkpoint=random_checkpoint(cfg, osp.join(root, 'ssn.pth'), 8, scale=0.3),
                test=test, features=feats, fps=30.0,
                durations={'video_test_1': 18.0, 'video_test_2': 9.5})


# ----------------------------------------------------------------------------- AFSD
AFSD_CLASSES = ((7, 'SynthJump'), (9, 'SynthThrow'))


def write_afsd(root, videos, seed, frame_size=40, feature_dim=12, feature_stride=4):
    """ThumosAFSDDataset test layout: ``videos`` ``{name: (frames, [(s, e, class)])}`` at
    10 fps; RGB frames uint8 (T, S, S, 3) and features (T/4, D)."""
    rng = np.random.default_rng(seed)
    ann_dir = osp.join(root, 'thumos_annotations')
    for d in (ann_dir, osp.join(root, 'frames'), osp.join(root, 'features')):
        os.makedirs(d, exist_ok=True)
    with open(osp.join(ann_dir, 'Class_Index_Detection.txt'), 'w') as f:
        f.writelines(f'{i} {n}\n' for i, n in AFSD_CLASSES)
    info_rows, ann_rows = [], []
    for vid, (frames, actions) in videos.items():
        info_rows.append([vid, 30.0, 10.0, frames * 3, frames])
        for s, e, c in actions:
            idx, cname = AFSD_CLASSES[c]
            ann_rows.append([vid, cname, idx, s / 10.0, e / 10.0, s * 3, e * 3])
        img = rng.integers(0, 256, (frames, frame_size, frame_size, 3), dtype=np.uint8)
        for s, e, c in actions:
            img[s:e] = 200 + 40 * c
        np.save(osp.join(root, 'frames', vid + '.npy'), img)
        np.save(osp.join(root, 'features', vid + '.npy'),
                rng.normal(size=(-(-frames // feature_stride), feature_dim)).astype(np.float32))
    with open(osp.join(ann_dir, 'test_video_info.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['video', 'fps', 'sample_fps', 'count', 'sample_count'])
        w.writerows(info_rows)
    with open(osp.join(ann_dir, 'test_Annotation_ours.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['video', 'type', 'type_idx', 'start', 'end', 'startFrame', 'endFrame'])
        w.writerows(ann_rows)
    return ann_dir


def make_afsd(root):
    """The frames config (synthetic demo: TinyVideoBackbone, L = 32) and the feature config
    (afsd_feature_thumos14 with small layers, L = 64, feature stride 4)."""
    root = str(root)
    # both at least one window (64 frames) long and whole feature steps (4 frames): AFSD does
    # not clip detections in the padded tail of a window to the video's end
    ann_dir = write_afsd(root, {'video_test_a': (72, [(8, 20, 0)]),
                                'video_test_b': (80, [(10, 30, 1), (50, 70, 0)])}, seed=9)
    files = dict(video_info_file=osp.join(ann_dir, 'test_video_info.csv'),
                 ann_file=osp.join(ann_dir, 'test_Annotation_ours.csv'),
                 class_index_file=osp.join(ann_dir, 'Class_Index_Detection.txt'))
    frames = _config('afsd/afsd_synthetic_demo.py')
    frames.test_dataloader.dataset.update(data_prefix=dict(frames=osp.join(root, 'frames')),
                                          **files)
    feats = _config('afsd/afsd_feature_thumos14.py')
    feats.model.net.update(num_classes=3, clip_length=64, feature_channels=12, width=16,
                           num_levels=4, gn_groups=4)
    feats.model.test_cfg.update(clip_stride=32)
    feats.test_dataloader.update(num_workers=0, persistent_workers=False)
    feats.test_dataloader.dataset.update(
        clip_length=64, data_prefix=dict(frames=osp.join(root, 'features')), **files)
    out = dict(frames_dir=osp.join(root, 'frames'), features_dir=osp.join(root, 'features'),
               durations={'video_test_a': 7.2, 'video_test_b': 8.0}, fps=10.0)
    for name, cfg, seed in (('frames', frames, 10), ('features', feats, 11)):
        out[name] = dict(config=_dump(cfg, osp.join(root, f'afsd_{name}.py')),
                         checkpoint=random_checkpoint(cfg, osp.join(root, f'afsd_{name}.pth'),
                                                      seed, scale=0.2))
    return out
