"""The data sample passed between dataset, model and metric."""
from mmengine.structures import BaseDataElement, InstanceData


class LocalizationDataSample(BaseDataElement):
    """One video's annotations, metadata and predictions.

    Fields (all optional; ``PackLocalizationInputs`` fills them, see docs/design.md):
        gt_instances (InstanceData): ground truth ``segments`` (G, 2) in the unit the
            model trains in (BMN/BSN: normalised [0, 1] on the feature axis) and
            ``labels`` (G,) where the method classifies.
        proposals (InstanceData): proposals of a two-stage method and what goes with
            them: ``segments``, BSN PEM's ``features`` (BSP, (K, 32)), ``tmin``/``tmax``/
            ``tmin_score``/``tmax_score``/``reference_temporal_iou``, SSN's ``labels``,
            ``types``, ``reg_targets``, ``scale_factors``, ``ticks``.
        input_mask (Tensor): (T_pad,) bool, True on the valid positions of a padded
            (C, T_pad) feature input (set by ``localization_collate``).
        pred_instances (InstanceData): predictions in **seconds**:
            ``segments`` (P, 2) float, ``scores`` (P,) float, sorted by score
            descending; optionally ``labels`` (P,) for detections.
        pred_tem (np.ndarray | Tensor): BSN TEM output (T, 5) rows of
            ``[action, start, end, tmin, tmax]``.

    Metainfo (set by ``PackLocalizationInputs``): ``video_name`` (with ``v_``),
    ``duration_second``, ``duration_frame``, ``feature_frame``, ``annotations``
    (list of ``{'segment': [start_s, end_s], 'label': str}``), ``time_grid``
    (:class:`~mmloc.structures.TimeGrid`, when the pipeline built one) and
    ``valid_length`` (T of a (C, T) feature input before padding).
    """

    @property
    def gt_instances(self) -> InstanceData:
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_gt_instances', dtype=InstanceData)

    @gt_instances.deleter
    def gt_instances(self) -> None:
        del self._gt_instances

    @property
    def proposals(self) -> InstanceData:
        return self._proposals

    @proposals.setter
    def proposals(self, value: InstanceData) -> None:
        self.set_field(value, '_proposals', dtype=InstanceData)

    @proposals.deleter
    def proposals(self) -> None:
        del self._proposals

    @property
    def input_mask(self):
        return self._input_mask

    @input_mask.setter
    def input_mask(self, value) -> None:
        self.set_field(value, '_input_mask')

    @input_mask.deleter
    def input_mask(self) -> None:
        del self._input_mask

    @property
    def pred_instances(self) -> InstanceData:
        return self._pred_instances

    @pred_instances.setter
    def pred_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_pred_instances', dtype=InstanceData)

    @pred_instances.deleter
    def pred_instances(self) -> None:
        del self._pred_instances
