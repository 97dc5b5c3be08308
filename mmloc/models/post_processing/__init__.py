"""Post-processing shared by the localizers; every NMS of mmloc lives in :mod:`.nms`."""
from .nms import (actionformer_hard_nms, actionformer_soft_nms, afsd_soft_nms, batched_nms,
                  hard_nms, mmaction2_soft_nms, segment_voting, soft_nms)

__all__ = ['hard_nms', 'soft_nms', 'mmaction2_soft_nms', 'afsd_soft_nms',
           'actionformer_soft_nms', 'actionformer_hard_nms', 'segment_voting', 'batched_nms']
