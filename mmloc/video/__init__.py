"""Video files -> RGB frames on a time grid -> snippets (PyAV, streamed)."""
from .decode import (DecodedFrame, VideoError, VideoInfo, iter_frames, probe_video,
                     resized_size)
from .sampling import SnippetSampling, iter_snippets
from .sidecar import (read_sidecar, sidecar_path, time_grid_from_sidecar, write_sidecar)

VIDEO_EXTS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv', '.flv')

__all__ = ['DecodedFrame', 'VideoError', 'VideoInfo', 'iter_frames', 'probe_video',
           'resized_size', 'SnippetSampling', 'iter_snippets', 'read_sidecar', 'sidecar_path',
           'time_grid_from_sidecar', 'write_sidecar', 'VIDEO_EXTS']
