"""LocalizationDataPreprocessor: mmengine's cast, minus the rebuild of a batch already there."""
import pytest
import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import InstanceData

from mmloc.models import PEM
from mmloc.models.data_preprocessor import LocalizationDataPreprocessor, on_device
from mmloc.structures import LocalizationDataSample


def _batch():
    samples = []
    for i in range(3):
        ds = LocalizationDataSample(metainfo=dict(video_name=f'v{i}', duration_second=10.0))
        ds.gt_instances = InstanceData(segments=torch.rand(2, 2), labels=torch.tensor([0, 1]))
        ds.proposals = InstanceData(features=torch.rand(5, 32))
        samples.append(ds)
    return dict(inputs=[torch.rand(4, 8) for _ in samples], data_samples=samples)


def _fields(data):
    # sorted: mmengine keeps field names in sets, whose order follows the string hash seed
    # (PYTHONHASHSEED=33 ordered a rebuilt sample's metainfo differently from the original)
    return [(sorted(ds.metainfo.items()),
             sorted((k, sorted(dict(v.items()).items())) for k, v in ds.items()))
            for ds in data['data_samples']]


@pytest.mark.parametrize('training', [True, False])
def test_same_batch_as_mmengine_without_rebuilding_it(training):
    batch = _batch()
    ours = LocalizationDataPreprocessor()(batch, training)
    theirs = BaseDataPreprocessor()(batch, training)
    assert ours.keys() == theirs.keys() and ours is not batch
    for a, b in zip(ours['inputs'], theirs['inputs']):
        assert a is b                                # mmengine's cast keeps the tensors too
    assert repr(_fields(ours)) == repr(_fields(theirs))
    for ds, orig in zip(ours['data_samples'], batch['data_samples']):
        assert ds is orig                            # no new wrappers, no metainfo copies
        assert ds.proposals.features is orig.proposals.features


def test_a_batch_elsewhere_is_cast_as_mmengine_casts_it(monkeypatch):
    batch = _batch()
    assert on_device(batch, torch.device('cpu'))
    assert not on_device(batch, torch.device('meta'))
    assert not on_device([1, (torch.zeros(1, device='meta'),)], torch.device('cpu'))
    assert on_device(dict(a='text', b=3, c=None), torch.device('meta'))
    pre = LocalizationDataPreprocessor()
    pre._device = torch.device('meta')               # stand-in for a CUDA model
    calls = []
    monkeypatch.setattr(BaseDataPreprocessor, 'forward',
                        lambda self, data, training=False: calls.append(data) or 'cast')
    assert pre(batch) == 'cast' and calls == [batch]


def test_localizers_default_to_it_and_keep_a_configured_one():
    from mmloc.models import TEM
    assert type(PEM().data_preprocessor) is LocalizationDataPreprocessor
    assert type(TEM().data_preprocessor) is LocalizationDataPreprocessor
    pem = PEM(data_preprocessor=dict(type='BaseDataPreprocessor'))
    assert type(pem.data_preprocessor) is BaseDataPreprocessor
