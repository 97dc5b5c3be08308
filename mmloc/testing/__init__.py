"""Seeded synthetic data sets in the real on-disk formats, for tests, demos and benchmarks.

Not data-loading code (that is :mod:`mmloc.datasets`); import the generator you need:

* :mod:`mmloc.testing.synthetic_activitynet`: ActivityNet-like snippet features and
  annotations (BMN, BSN); CLI ``tools/data/synthetic/generate_activitynet.py``.
* :mod:`mmloc.testing.synthetic_thumos`: THUMOS14-like features, frames and TAG proposal
  lists (SSN); CLI ``tools/data/synthetic/generate_thumos.py``.
* :mod:`mmloc.testing.synthetic_afsd`: THUMOS14-like RGB / flow clips (AFSD); CLI
  ``tools/data/synthetic/generate_afsd_clips.py``.
"""
# * :mod:`mmloc.testing.synthetic_video`: mp4 files (PyAV) with coloured shapes that move
#   across the frame between known times (video decoding, extraction, the own-data-set chain).
