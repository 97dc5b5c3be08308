"""mmloc's registries mirror mmengine's root registries (scope ``mmloc``)."""
import mmengine.registry.root as mmengine_root
from mmengine.registry import DefaultScope, Registry

import mmloc.registry as mmloc_registry


def test_every_mmengine_root_registry_has_an_mmloc_child():
    roots = {n: r for n, r in vars(mmengine_root).items() if isinstance(r, Registry)}
    assert len(roots) >= 20
    for name, root in roots.items():
        child = getattr(mmloc_registry, name, None)
        assert isinstance(child, Registry), f'mmloc.registry lacks {name}'
        assert child.parent is root and child.scope == 'mmloc' and child.name == root.name


def test_building_an_optim_wrapper_under_the_mmloc_scope_finds_its_scope(capfd):
    # without an mmloc 'optimizer wrapper constructor' registry, mmengine warns
    # "Failed to search registry with scope mmloc" on every training run
    import torch
    from mmengine.optim import build_optim_wrapper
    with DefaultScope.overwrite_default_scope('mmloc'):
        wrapper = build_optim_wrapper(torch.nn.Linear(2, 2),
                                      dict(optimizer=dict(type='Adam', lr=0.1)))
    assert type(wrapper.optimizer).__name__ == 'Adam'
    out, err = capfd.readouterr()
    assert 'Failed to search registry' not in out + err
