# BSN step 3 on the PGM outputs of the SlowOnly-K700 chain (its own work_dir; PEM's input is
# the 32-d BSP feature whatever the snippet features were).
_base_ = ['./bsn_pem_400x100_1x16_20e_activitynet_feature.py']

work_dir = './work_dirs/bsn_2048x100_20e_1x16_activitynet_slowonly_k700_feature/'
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
val_pipeline = test_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = dict(type='ANetMetric', metric_type='AR@AN', out_file=f'{work_dir}results.json')
test_evaluator = val_evaluator
