from .bm_map import gt_bm_cells, plot_bm_map
from .diagnosis_plots import (plot_diagnosis, plot_false_negatives, plot_false_positive_analysis,
                              plot_sensitivity)
from .plots import plot_ar_an, plot_proposal_timeline

__all__ = ['plot_ar_an', 'plot_proposal_timeline', 'plot_bm_map', 'gt_bm_cells', 'plot_diagnosis',
           'plot_false_negatives', 'plot_false_positive_analysis', 'plot_sensitivity']
