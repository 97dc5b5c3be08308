# ActionFormer, THUMOS14, two-stream I3D features (actionformer-spec §7 "AF THUMOS"):
# window 19, AdamW 1e-4 / wd 0.05, 5 warm-up + 30 cosine epochs, batch 2, EMA, clip 1.0.
# Published: 66.83 average mAP (0.3:0.7), docs/actionformer.md.
_base_ = ['../../_base_/models/actionformer.py', '../../_base_/datasets/thumos14_actionformer.py',
          '../../_base_/schedules/actionformer_adamw.py', '../../_base_/default_runtime.py']
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=5, save_best=None,
                                     max_keep_ckpts=3))
