"""Raw input -> what the config's test dataset would hand to its pipeline.

A dataset turns an annotation record into the ``results`` dict its test pipeline starts from
(paths, durations, frame counts, proposals...). For a video given as a file or an array there
is no record, so one small adapter per dataset type builds that dict from what the user knows
(the input, its duration in seconds and/or frame rate). Everything after that, loading,
resizing and packing, is the dataset's own test pipeline (built by the dataset class from the
config, see :class:`~mmloc.apis.LocalizationInferencer`), and the model's ``test_step``.

Adapters are registered by dataset type (``RAW_INPUT_ADAPTERS``); a dataset type without one
gets :class:`RawInputAdapter`, a feature file / array with the video's duration and fps.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Optional, Type, Union

import numpy as np

from mmloc.datasets.transforms.loading import feature_length
from mmloc.structures import TimeGrid

Source = Union[str, np.ndarray, dict]

#: dataset type -> adapter class
RAW_INPUT_ADAPTERS: Dict[str, Type['RawInputAdapter']] = {}


def register_raw_input(dataset_type: str):
    """Class decorator: the adapter of raw inputs for ``dataset_type``."""
    def wrap(cls):
        RAW_INPUT_ADAPTERS[dataset_type] = cls
        return cls
    return wrap


@dataclass
class RawVideo:
    """One video of the inferencer's input.

    Attributes:
        source: a file path, an array (time first: (L, C) features, (T, H, W, C) frames), or
            ``{modality: path | array}`` for multi-stream models.
        video_name: the id written with the predictions.
        duration_s: video length in seconds (None: ``L * frames_per_step / fps``).
        fps: frames per second of the video (of the frame array for frame inputs).
        frames_per_step: frames per feature row (None: the adapter's default).
        meta: further fields as the dataset would give them (``duration_frame``, ...); they
            override the adapter's.
    """

    source: Source
    video_name: str
    duration_s: Optional[float] = None
    fps: Optional[float] = None
    frames_per_step: Optional[float] = None
    meta: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The file (or ``<array>``) for messages."""
        if isinstance(self.source, (str, os.PathLike)):
            return os.fspath(self.source)
        return f'<array of video {self.video_name}>'


def check_time_first(video: RawVideo, ndim: int = 2) -> None:
    """An in-memory input must be a time-first array with at least one step."""
    arr = video.source
    if isinstance(arr, np.ndarray) and (arr.ndim != ndim or arr.shape[0] == 0):
        raise ValueError(f'{video.label}: expected a (L, C) feature array with L >= 1, '
                         f'got shape {arr.shape}')


class RawInputAdapter:
    """Feature file or (L, C) array -> ``feature_path`` / ``feature`` plus video metadata.

    Args:
        dataset: the config's test dataset, built with ``lazy_init=True`` (nothing read).
        model: the model (some datasets' conventions depend on it).
        dataset_cfg: the config of ``dataset``.
    """

    #: frames per feature row when neither the input nor the dataset says
    default_frames_per_step: float = 16

    def __init__(self, dataset, model, dataset_cfg: Optional[dict] = None) -> None:
        self.dataset = dataset
        self.model = model
        self.dataset_cfg = dict(dataset_cfg or {})

    @property
    def classes(self):
        """Class names of the labels, when the dataset knows them without reading data."""
        meta = getattr(self.dataset, 'metainfo', None) or {}
        return meta.get('classes')

    # ------------------------------------------------------------------ helpers
    def num_steps(self, video: RawVideo) -> int:
        """L: time steps of the input (rows of a (L, C) feature file / array)."""
        if isinstance(video.source, np.ndarray):
            return int(video.source.shape[0])
        return feature_length(video.source)

    def frames_per_step(self, video: RawVideo) -> float:
        return float(video.frames_per_step or self.default_frames_per_step)

    def duration_s(self, video: RawVideo, required: bool = True) -> Optional[float]:
        """The given duration, else ``L * frames_per_step / fps``."""
        if video.duration_s is not None:
            return float(video.duration_s)
        if video.fps is not None:   # the seconds the L snippets span
            return TimeGrid(num_steps=self.num_steps(video), fps=float(video.fps),
                            stride_frames=self.frames_per_step(video)).span_s
        if required:
            raise ValueError(f'{video.label}: give duration_s, or fps (with frames_per_snippet) '
                             'to map the proposals back to seconds')
        return None

    @staticmethod
    def source_fields(video: RawVideo, path_key: str = 'feature_path',
                      array_key: str = 'feature') -> dict:
        if isinstance(video.source, np.ndarray):
            return {array_key: video.source}
        return {path_key: os.fspath(video.source)}

    # ------------------------------------------------------------------ the one method
    def results(self, video: RawVideo) -> dict:
        """The dict the dataset's test pipeline starts from."""
        check_time_first(video)
        out = dict(video_name=video.video_name, annotations=[],
                   duration_second=self.duration_s(video))
        if video.fps is not None:
            out['fps'] = float(video.fps)
        out.update(self.source_fields(video))
        out.update(copy.deepcopy(video.meta))
        return out


@register_raw_input('ActivityNetDataset')
class ActivityNetRawInput(RawInputAdapter):
    """BMN / BSN (MMAction2 ActivityNet layout): the metadata of a record.

    ``duration_frame = feature_frame = L * feature_extraction_interval``: a whole number of
    snippets, so that the output seconds (spec §1.3: ``(duration_frame // interval) *
    interval / duration_frame * duration_second``) are exactly ``duration_s``. Pass
    ``duration_frame`` / ``feature_frame`` in :attr:`RawVideo.meta` to get a record's own
    conversion instead.
    """

    def results(self, video: RawVideo) -> dict:
        check_time_first(video)
        interval = int(getattr(self.model, 'feature_extraction_interval', 16))
        frames = interval * self.num_steps(video)
        out = dict(video_name=video.video_name, duration_second=self.duration_s(video),
                   duration_frame=frames, feature_frame=frames, annotations=[])
        out.update(self.source_fields(video))
        out.update(copy.deepcopy(video.meta))
        return out


@register_raw_input('FeatureDataset')
class FeatureDatasetRawInput(RawInputAdapter):
    """``FeatureDataset``: fps (the input's or the dataset's) and the snippet geometry that
    ``LoadLocalizationFeature`` turns into the video's time grid."""

    def __init__(self, dataset, model, dataset_cfg: Optional[dict] = None) -> None:
        super().__init__(dataset, model, dataset_cfg)
        if dataset.fit_mode == 'sliding':
            raise NotImplementedError(
                "FeatureDataset(fit_mode='sliding') predicts per window and leaves the merge "
                "to the caller; the inferencer takes whole videos: use fit_mode='pad' or "
                "'resize' in the test dataset")

    @property
    def classes(self):
        return self.dataset.classes

    def frames_per_step(self, video: RawVideo) -> float:
        return float(video.frames_per_step or self.dataset.feat_stride)

    def results(self, video: RawVideo) -> dict:
        check_time_first(video)
        fps = video.fps if video.fps is not None else self.dataset.default_fps
        if fps is None:
            raise ValueError(f'{video.label}: give fps (the dataset has no default fps), so '
                             'that grid positions map to seconds')
        video = RawVideo(**dict(vars(video), fps=float(fps)))
        out = dict(video_name=video.video_name, duration_second=self.duration_s(video),
                   fps=float(fps), feat_stride=self.dataset.feat_stride,
                   feat_num_frames=self.dataset.feat_num_frames, annotations=[])
        out.update(self.source_fields(video))
        out.update(copy.deepcopy(video.meta))
        return out


@register_raw_input('SSNFeatureDataset')
class SSNFeatureRawInput(RawInputAdapter):
    """SSN on snippet features: test proposals as ``SSNFeatureDataset`` makes them.

    The feature file is SSN's ``(C, T)`` ``.npy``; an in-memory array is ``(T, C)`` like every
    inferencer input. Frames: ``num_frames = round(duration_s * fps)`` (or ``duration_frame``
    from :attr:`RawVideo.meta`), so ``fps`` is needed. Proposals, their assignment and the
    test item come from the dataset's own methods (``video_proposals``: the video's rows of
    ``proposal_file`` when listed, else its ``proposal_generator``; ``video_results``), so a
    raw video is prepared exactly as a listed one. Regression constants: ``reg_norm_consts`` in the meta, else the test
    dataset's ``reg_normalize_constants`` (a list, or the arguments of the training set whose
    constants are computed, as ``tools/test.py`` does).
    """

    def __init__(self, dataset, model, dataset_cfg: Optional[dict] = None) -> None:
        super().__init__(dataset, model, dataset_cfg)
        self._consts = None

    @property
    def classes(self):
        return tuple(self.dataset.class_names)

    def num_steps(self, video: RawVideo) -> int:
        if isinstance(video.source, np.ndarray):
            return int(video.source.shape[0])
        arr = np.load(video.source, mmap_mode='r', allow_pickle=False)
        return int(arr.shape[1])  # SSN files are (C, T)

    def reg_norm_consts(self) -> np.ndarray:
        if self._consts is None:
            from mmloc.registry import DATASETS
            given = self.dataset_cfg.get('reg_normalize_constants')
            if given is None:
                raise ValueError('SSN: the test dataset has no reg_normalize_constants; give '
                                 "reg_norm_consts [[mean_loc, mean_size], [std_loc, std_size]] "
                                 "in the input's meta")
            if isinstance(given, dict):
                cfg = copy.deepcopy(dict(self.dataset_cfg))
                cfg.update(given, pipeline=[], test_mode=False, reg_normalize_constants=None)
                cfg.pop('lazy_init', None)
                given = DATASETS.build(cfg).reg_norm_consts
            self._consts = np.asarray(given, np.float64).reshape(2, 2)
        return self._consts

    def results(self, video: RawVideo) -> dict:
        check_time_first(video)
        if video.fps is None:
            raise ValueError(f'{video.label}: SSN needs fps (its proposals and sampled frames '
                             'are in frames of the video)')
        meta = copy.deepcopy(video.meta)
        fps = float(video.fps)
        duration_s = self.duration_s(video)
        num_frames = int(meta.pop('duration_frame', None) or
                         TimeGrid.from_fps(fps, duration_s=duration_s).num_steps)
        consts = np.asarray(meta.pop('reg_norm_consts', None)
                            if 'reg_norm_consts' in meta else self.reg_norm_consts())
        gt_rows = np.zeros((0, 3))
        # what the dataset does for a video it lists: proposals, assignment, test item
        prop_rows = self.dataset.video_proposals(video.video_name, num_frames, gt_rows)
        info = self.dataset._assign(video.video_name, num_frames, gt_rows, prop_rows, fps=fps,
                                    duration_second=duration_s)
        info['reg_norm_consts'] = consts
        out = self.dataset.video_results(info, test_mode=True)
        out.update(self.source_fields(video))
        out.update(meta)
        return out


@register_raw_input('ThumosAFSDDataset')
class ThumosAFSDRawInput(RawInputAdapter):
    """AFSD: a whole video's frames ``uint8 (T, H, W, C)`` at ``fps`` (AFSD's ``sample_fps``)
    or snippet features ``(T / feature_stride, C)``, as a ``.npy`` file or an array
    (``{modality: ...}`` for RGB + flow). The model slides its own windows.

    ``sample_fps``: the given fps, else ``L * feature_stride / duration_s``.
    """

    def __init__(self, dataset, model, dataset_cfg: Optional[dict] = None) -> None:
        super().__init__(dataset, model, dataset_cfg)
        self._classes = None

    @property
    def classes(self):
        if self._classes is None:
            from mmloc.datasets.thumos_afsd_dataset import read_class_index
            path = self.dataset.class_index_file
            self._classes = read_class_index(path)[0] if path and osp.isfile(path) else ()
        return self._classes or None

    def _first(self, video: RawVideo):
        src = video.source
        if isinstance(src, dict):
            src = src[self.dataset.modalities[0]] if self.dataset.modalities else \
                next(iter(src.values()))
        return src

    def num_steps(self, video: RawVideo) -> int:
        src = self._first(video)
        if isinstance(src, np.ndarray):
            return int(src.shape[0])
        return int(np.load(src, mmap_mode='r', allow_pickle=False).shape[0])

    def frames_per_step(self, video: RawVideo) -> float:
        return float(video.frames_per_step or self.dataset.feature_stride)

    def results(self, video: RawVideo) -> dict:
        src = video.source
        modalities = self.dataset.modalities
        if modalities is not None and not isinstance(src, dict):
            raise ValueError(f'{video.label}: this AFSD config fuses {modalities}: give '
                             '{modality: file or array} for each')
        steps = self.num_steps(video)
        if steps == 0:
            raise ValueError(f'{video.label}: the input has no frames')
        stride = self.dataset.feature_stride
        if video.fps is not None:
            sample_fps = float(video.fps)
        elif video.duration_s is not None:
            sample_fps = steps * stride / float(video.duration_s)
        else:
            raise ValueError(f'{video.label}: give fps (frames per second of the input '
                             'frames) or duration_s')
        sample_count = steps * stride
        out = dict(video_name=video.video_name, clip_length=self.dataset.clip_length,
                   feature_stride=stride, fps=sample_fps, sample_fps=sample_fps,
                   count=float(sample_count), sample_count=sample_count,
                   gt_segments=np.zeros((0, 2), np.float32),
                   gt_labels=np.zeros(0, np.int64), annotations=[])
        if isinstance(src, dict):
            if all(isinstance(v, np.ndarray) for v in src.values()):
                out['frames'] = dict(src)
            else:
                paths = {m: os.fspath(p) for m, p in src.items()}
                out.update(frame_paths=paths, frame_path=paths[next(iter(paths))])
        elif isinstance(src, np.ndarray):
            out['frames'] = src
        else:
            out['frame_path'] = os.fspath(src)
        out.update(copy.deepcopy(video.meta))
        return out


@register_raw_input('SSNDataset')
class SSNFramesRawInput(RawInputAdapter):
    """SSN on raw frames needs a TAG proposal list per video: not supported for raw input."""

    def results(self, video: RawVideo) -> dict:
        raise NotImplementedError(
            f'{video.label}: SSN on raw frames (SSNDataset) takes its proposals from a TAG '
            'proposal list; for a video of your own use an SSN feature config '
            '(SSNFeatureDataset: sliding-window proposals), e.g. '
            'configs/localization/ssn/ssn_feature_thumos14_test.py')


def build_adapter(dataset_type: str, dataset, model, dataset_cfg: dict) -> RawInputAdapter:
    """The adapter registered for ``dataset_type`` (:class:`RawInputAdapter` if none)."""
    return RAW_INPUT_ADAPTERS.get(dataset_type, RawInputAdapter)(dataset, model, dataset_cfg)
