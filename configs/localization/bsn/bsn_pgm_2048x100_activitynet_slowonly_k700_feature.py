# BSN step 2 on the TEM outputs of the 2048-d SlowOnly-K700 TEM (its own work_dir).
_base_ = ['./bsn_pgm_400x100_activitynet_feature.py']

work_dir = './work_dirs/bsn_2048x100_20e_1x16_activitynet_slowonly_k700_feature/'
tem_results_dir = f'{work_dir}tem_results/'
pgm_proposals_dir = f'{work_dir}pgm_proposals/'
pgm_features_dir = f'{work_dir}pgm_features/'
