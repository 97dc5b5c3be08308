
from .bsn_pgm import (boundary_mask, generate_bsp_feature, generate_candidate_proposals,  # noqa: F401
                      match_ground_truth, padded_action_curve)
from .proposal_utils import post_processing  # noqa: F401
from .boundary_targets import (bmn_boundary_anchors, bmn_labels, bmn_match_map,  # noqa: F401
                               stack_tem_targets, tem_anchors, tem_targets)
