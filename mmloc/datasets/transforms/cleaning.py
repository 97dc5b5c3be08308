"""Cleaning a video's annotations before they reach the grid (actionformer-spec §1.1)."""
from __future__ import annotations

from mmcv.transforms import BaseTransform

from mmloc.datasets.annotations import remove_duplicate_annotations
from mmloc.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RemoveDuplicateAnnotations(BaseTransform):
    """Drop repeated and too-short ``annotations`` (seconds), as upstream's ActivityNet loader
    does for training (:func:`~mmloc.datasets.annotations.remove_duplicate_annotations`).

    Args:
        tol_s: start and end both within this many seconds of a kept annotation of the
            same label: a duplicate.
        min_length_s: shorter annotations are dropped (ActionFormer 1e-3; TriDet None
            keeps every length).
    """

    def __init__(self, tol_s: float = 1e-3, min_length_s: float | None = 1e-3) -> None:
        self.tol_s = tol_s
        self.min_length_s = min_length_s

    def transform(self, results: dict) -> dict:
        results['annotations'] = remove_duplicate_annotations(
            list(results.get('annotations', [])), self.tol_s, self.min_length_s)
        return results
