
from .bm_layer import (BMBagIndex, bm_bag_index, bm_bag_tensors, dense_bm_layer,  # noqa: F401
                       fused_bm_cells, fused_bm_conv3d)
from .bm_sampling import (BMSparseMask, bm_dense_mask, bm_sample_points, bm_sparse_mask,
                          bm_valid_cells, bm_valid_mask)
from .bm_region import (BandPlan, band_plan, banded_conv_stack, check_banded_stack,  # noqa: F401
                        needed_columns, stair_cells, stair_grids)
