from .plots import plot_ar_an, plot_proposal_timeline

__all__ = ['plot_ar_an', 'plot_proposal_timeline']
from .bm_map import gt_bm_cells, plot_bm_map  # noqa: E402

__all__ += ['plot_bm_map', 'gt_bm_cells']
