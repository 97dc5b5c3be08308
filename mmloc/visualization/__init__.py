from .plots import plot_ar_an, plot_proposal_timeline

__all__ = ['plot_ar_an', 'plot_proposal_timeline']
