"""Bad checkpoint files give a CheckpointError that names the file and the fault."""
import pickle
from collections import OrderedDict

import pytest
import torch
from torch import nn

from mmcenternet.checkpoint import load_weights, state_dict_of
from mmcenternet.errors import CheckpointError
from test_engine.tiny_runner import TinyModel, build_runner


class Net(nn.Module):

    def __init__(self, width=3):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3)
        self.bn = nn.BatchNorm2d(width)


@pytest.fixture(scope='module')
def runner_ckpt(tmp_path_factory):
    """A real mmengine Runner checkpoint (message hub, numpy meta, Adam)."""
    work_dir = tmp_path_factory.mktemp('runner')
    runner = build_runner(str(work_dir), max_epochs=1)
    runner.train()
    return work_dir / 'epoch_1.pth', runner.model


def test_runner_checkpoint_loads_strictly(runner_ckpt):
    path, trained = runner_ckpt
    model = TinyModel()
    checkpoint = load_weights(model, str(path)).checkpoint
    assert {'meta', 'state_dict', 'message_hub', 'optimizer'} <= set(checkpoint)
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)


@pytest.mark.parametrize('nesting', ['state_dict', 'model', 'bare'])
def test_nesting_and_module_prefix(tmp_path, nesting):
    src = Net()
    state = OrderedDict(('module.' + k, v) for k, v in src.state_dict().items())
    obj = state if nesting == 'bare' else {nesting: state, 'meta': {}}
    torch.save(obj, tmp_path / 'c.pth')
    dst = Net()
    load_weights(dst, str(tmp_path / 'c.pth'))
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value)


@pytest.mark.parametrize('content, reason', [
    (b'', 'empty'),
    (b'{"images": []}', 'not a PyTorch checkpoint'),
    (b'\x89PNG\r\n\x1a\n not a checkpoint at all', 'not a PyTorch checkpoint'),
    (pickle.dumps({'a': 1}, protocol=4), 'not a PyTorch checkpoint'),
])
def test_not_a_checkpoint(tmp_path, content, reason):
    path = tmp_path / 'bad.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_weights(Net(), str(path))
    assert str(path) in str(info.value)
    assert reason in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match='does not exist') as info:
        load_weights(Net(), str(tmp_path / 'nope.pth'))
    assert 'nope.pth' in str(info.value)
    assert isinstance(info.value, FileNotFoundError)  # as mmengine's loader


def test_dict_without_tensors(tmp_path):
    torch.save({'meta': {'epoch': 3}, 'note': 'hello'}, tmp_path / 'meta.pth')
    with pytest.raises(CheckpointError, match='holds no tensors') as info:
        load_weights(Net(), str(tmp_path / 'meta.pth'))
    assert 'meta.pth' in str(info.value)


def test_truncated_checkpoint(tmp_path, runner_ckpt):
    data = runner_ckpt[0].read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='truncated or corrupt') as info:
        load_weights(TinyModel(), str(tmp_path / 'cut.pth'))
    assert 'cut.pth' in str(info.value)


def test_key_and_shape_mismatch_listed(tmp_path):
    state = Net(width=3).state_dict()
    state['extra.weight'] = torch.zeros(1)
    del state['bn.bias']
    torch.save({'state_dict': state}, tmp_path / 'other.pth')
    with pytest.raises(CheckpointError) as info:
        load_weights(Net(width=4), str(tmp_path / 'other.pth'))
    message = str(info.value)
    assert 'other.pth' in message and 'Net' in message
    assert '1 missing keys: bn.bias' in message
    assert '1 unexpected keys: extra.weight' in message
    assert 'conv.weight: checkpoint (3, 1, 3, 3) vs model (4, 1, 3, 3)' in message


def test_many_missing_keys_are_counted(tmp_path):
    torch.save({'state_dict': {'only.one': torch.zeros(1)}},
               tmp_path / 'few.pth')
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(8)])  # 16 keys
    with pytest.raises(CheckpointError) as info:
        load_weights(model, str(tmp_path / 'few.pth'))
    message = str(info.value)
    assert '16 missing keys: 0.weight, 0.bias, 1.weight, 1.bias, 2.weight, ...' in message
    assert '(11 more; by module: 0 (2), 1 (2), 2 (2), 3 (2), 4 (2), 5 (2), ...)' in message


def test_state_dict_of_rejects_non_tensor_entries():
    with pytest.raises(CheckpointError, match='non-tensor entries'):
        state_dict_of({'state_dict': {'w': torch.zeros(1), 'x': 3}}, 'f')


def test_non_strict_load_returns_a_typed_report(tmp_path):
    """``load_weights`` reports what did not fit as data (no strings to parse)."""
    from mmcenternet.checkpoint import CheckpointMismatchWarning, MismatchedKey
    state = Net(width=3).state_dict()
    state['conv.weight'] = torch.zeros(3, 1, 5, 5)
    state['extra.weight'] = torch.zeros(1)
    del state['bn.bias']
    torch.save({'state_dict': state, 'meta': {'epoch': 1}}, tmp_path / 'other.pth')
    model = Net(width=3)
    with pytest.warns(CheckpointMismatchWarning, match='loaded 5 of 7 model tensors'):
        result = load_weights(model, str(tmp_path / 'other.pth'), strict=False)
    assert not result.fits
    assert result.missing_keys == ['bn.bias']
    assert result.unexpected_keys == ['extra.weight']
    assert result.mismatched_keys == [MismatchedKey('conv.weight', (3, 1, 5, 5), (3, 1, 3, 3))]
    assert result.loaded_keys == ['conv.bias', 'bn.weight', 'bn.running_mean',
                                  'bn.running_var', 'bn.num_batches_tracked']
    assert torch.equal(model.bn.running_var, state['bn.running_var'])
    assert result.checkpoint['meta'] == {'epoch': 1}
