"""The data sample passed between dataset, model and metric."""
from mmengine.structures import BaseDataElement, InstanceData


class LocalizationDataSample(BaseDataElement):
    """One video's annotations, metadata and predictions.

    Fields (all optional):
        gt_instances (InstanceData): ground truth, e.g. ``gt_bbox`` (G, 2)
            normalised [0, 1] start/end on the feature axis.
        proposals (InstanceData): input proposals (BSN PEM), normalised times.
        pred_instances (InstanceData): predictions in **seconds**:
            ``segments`` (P, 2) float, ``scores`` (P,) float, sorted by score
            descending; optionally ``labels`` (P,) for detections.
        pred_tem (np.ndarray | Tensor): BSN TEM output (T, 5) rows of
            ``[action, start, end, tmin, tmax]``.

    Metainfo (set by ``PackLocalizationInputs``): ``video_name`` (with ``v_``),
    ``duration_second``, ``duration_frame``, ``feature_frame``, ``annotations``
    (list of ``{'segment': [start_s, end_s], 'label': str}``).
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
    def pred_instances(self) -> InstanceData:
        return self._pred_instances

    @pred_instances.setter
    def pred_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_pred_instances', dtype=InstanceData)

    @pred_instances.deleter
    def pred_instances(self) -> None:
        del self._pred_instances
