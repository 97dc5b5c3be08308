"""The two time conventions of ActivityNet-style localization (spec §1.3).

Units: ``*_s`` are seconds, ``u``/``t_norm`` are normalised positions in [0, 1]
along the feature axis, snippet indices are integers in [0, T).

* Labels and GT matching divide seconds by ``corrected_second``
  (``feature_frame / duration_frame * duration_second``).
* Model outputs are turned back into seconds with ``output_duration_s``
  (``(duration_frame // interval) * interval / duration_frame * duration_second``).

Both formulas are kept exactly as MMAction2 and the BSN/BMN papers use them so
that numbers match; they disagree for about a third of ActivityNet videos.
"""
from __future__ import annotations


def corrected_second(duration_second: float, duration_frame: int,
                     feature_frame: int) -> float:
    """Seconds covered by the features: ``feature_frame / duration_frame * duration_second``."""
    return float(feature_frame) / float(duration_frame) * float(duration_second)


def output_duration_s(duration_second: float, duration_frame: int,
                      feature_extraction_interval: int = 16) -> float:
    """Seconds that normalised outputs are scaled by (spec §1.3, "output seconds")."""
    covered = (int(duration_frame) // feature_extraction_interval) * feature_extraction_interval
    return float(covered) / float(duration_frame) * float(duration_second)
