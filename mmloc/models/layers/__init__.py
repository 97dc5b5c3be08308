
from .bm_layer import (BMBagIndex, bm_bag_index, bm_bag_tensors, dense_bm_layer,  # noqa: F401
                       fused_bm_conv3d)
from .bm_sampling import (BMSparseMask, bm_dense_mask, bm_sample_points, bm_sparse_mask,
                          bm_valid_cells, bm_valid_mask)
