"""Ground-truth label generation for localization."""
from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform

from mmloc.registry import TRANSFORMS
from mmloc.structures import Segments, TimeGrid


def segments_to_normalised(segments_s: np.ndarray, duration_second: float,
                           duration_frame: int, feature_frame: int) -> np.ndarray:
    """Seconds -> normalised feature-axis positions, clipped to [0, 1] (spec §1.3).

    Args:
        segments_s: (G, 2) ``[start_s, end_s]`` in seconds.

    Returns:
        (G, 2) float64 ``[clip(start/cs), clip(end/cs)]`` with ``cs = corrected_second``
        (:meth:`TimeGrid.seconds_to_normalised` of the ActivityNet grid).
    """
    # num_steps does not enter seconds -> normalised
    grid = TimeGrid.from_activitynet(1, duration_second, duration_frame, feature_frame)
    segments = Segments(np.asarray(segments_s, dtype=np.float64).reshape(-1, 2), 'second')
    return segments.to('normalised', grid).clip(0.0, 1.0).numpy()


@TRANSFORMS.register_module()
class GenerateLocalizationLabels(BaseTransform):
    """``annotations`` (seconds) -> ``gt_segments`` (G, 2) float64, normalised and clipped.

    The same array is also left under MMAction2's old key ``gt_bbox`` so that configs
    packing ``keys=('gt_bbox',)`` keep working (deprecated).
    """

    def transform(self, results: dict) -> dict:
        segments = [ann['segment'] for ann in results['annotations']]
        results['gt_segments'] = segments_to_normalised(
            np.array(segments, dtype=np.float64).reshape(-1, 2), results['duration_second'],
            results['duration_frame'], results['feature_frame'])
        results['gt_bbox'] = results['gt_segments']
        return results
