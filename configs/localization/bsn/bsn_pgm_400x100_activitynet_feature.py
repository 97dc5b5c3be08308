# BSN step 2: PGM (tools/misc/bsn_proposal_generation.py THIS --mode train, then --mode test).
# Reads the TEM CSVs, writes proposal CSVs and BSP feature .npy files (one per video).
# --mode train: ann_file_train + pgm_features_train_cfg; --mode test: ann_file_val (as MMAction2).
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_test = 'data/ActivityNet/anet_anno_test.json'  # unused, as in MMAction2

work_dir = './work_dirs/bsn_400x100_20e_1x16_activitynet_feature/'
tem_results_dir = f'{work_dir}tem_results/'
pgm_proposals_dir = f'{work_dir}pgm_proposals/'
pgm_features_dir = f'{work_dir}pgm_features/'

temporal_scale = 100
pgm_proposals_cfg = dict(pgm_proposals_thread=8, temporal_scale=temporal_scale,
                         peak_threshold=0.5)
pgm_features_test_cfg = dict(pgm_features_thread=32, top_k=1000, num_sample_start=8,
                             num_sample_end=8, num_sample_action=16, num_sample_interp=3,
                             bsp_boundary_ratio=0.2)
pgm_features_train_cfg = dict(pgm_features_test_cfg, top_k=500)
