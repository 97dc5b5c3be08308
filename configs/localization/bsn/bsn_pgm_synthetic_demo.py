# BSN step 2 on the synthetic set: tools/misc/bsn_proposal_generation.py THIS --mode train|test
_base_ = ['./bsn_pgm_400x100_activitynet_feature.py']

data_dir = 'data/synthetic_anet'
ann_file_train = f'{data_dir}/anet_anno_train.json'
ann_file_val = f'{data_dir}/anet_anno_val.json'
ann_file_test = ann_file_val
work_dir = './work_dirs/bsn_synthetic_demo/'
tem_results_dir = f'{work_dir}tem_results/'
pgm_proposals_dir = f'{work_dir}pgm_proposals/'
pgm_features_dir = f'{work_dir}pgm_features/'
pgm_proposals_cfg = dict(pgm_proposals_thread=2)
