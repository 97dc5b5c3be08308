# BSN step 3 on the synthetic set: tools/train.py THIS, then
# tools/test.py THIS CKPT --eval AR@AN --out work_dirs/bsn_synthetic_demo/results.json
_base_ = ['./bsn_pem_400x100_1x16_20e_activitynet_feature.py']

data_dir = 'data/synthetic_anet'
ann_file_train = f'{data_dir}/anet_anno_train.json'
ann_file_val = f'{data_dir}/anet_anno_val.json'
work_dir = './work_dirs/bsn_synthetic_demo/'
pgm_proposals_dir = f'{work_dir}pgm_proposals/'
pgm_features_dir = f'{work_dir}pgm_features/'

_meta = ('video_name', 'duration_second', 'duration_frame', 'annotations', 'feature_frame')
train_pipeline = [
    dict(type='LoadProposals', top_k=500, pgm_proposals_dir=pgm_proposals_dir,
         pgm_features_dir=pgm_features_dir),
    dict(type='PackLocalizationInputs', keys=('reference_temporal_iou', 'bsp_feature'),
         meta_keys=())
]
test_pipeline = [
    dict(type='LoadProposals', top_k=1000, pgm_proposals_dir=pgm_proposals_dir,
         pgm_features_dir=pgm_features_dir),
    dict(type='PackLocalizationInputs',
         keys=('tmin', 'tmax', 'tmin_score', 'tmax_score', 'bsp_feature'), meta_keys=_meta)
]
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(_loader, dataset=dict(ann_file=ann_file_train, pipeline=train_pipeline))
val_dataloader = dict(_loader, dataset=dict(ann_file=ann_file_val, pipeline=test_pipeline))
test_dataloader = dict(_loader, dataset=dict(ann_file=ann_file_val, pipeline=test_pipeline))
val_evaluator = dict(type='ANetMetric', metric_type='AR@AN', out_file=f'{work_dir}results.json')
test_evaluator = val_evaluator

default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(save_best=None, max_keep_ckpts=1))
randomness = dict(seed=0)
