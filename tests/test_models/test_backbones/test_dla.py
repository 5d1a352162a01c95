"""Tests of the DLA-34 backbone (official layout, output levels, freezing)."""
import pytest
import torch

from mmcenternet.models.backbones import DLA
from mmcenternet.registry import MODELS


def test_dla34_levels_shapes_and_strides():
    model = MODELS.build(dict(type='DLA', depth=34)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert len(outs) == 6
    for i, (out, ch) in enumerate(zip(outs, (16, 32, 64, 128, 256, 512))):
        assert out.shape == (1, ch, 64 // 2**i, 64 // 2**i)


def test_dla34_out_indices():
    model = DLA(out_indices=(2, 5)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [64, 512]


def test_dla34_official_names_and_size():
    keys = DLA().state_dict().keys()
    # names of the official pose_dla_dcn.DLA (under "base." there)
    for key in ('base_layer.0.weight', 'level0.0.weight', 'level1.1.running_var',
                'level2.tree1.conv1.weight', 'level2.root.conv.weight', 'level2.project.0.weight',
                'level3.tree1.tree1.bn2.weight', 'level3.tree2.root.conv.weight',
                'level3.project.1.weight', 'level5.root.conv.weight'):
        assert key in keys, key
    shapes = {k: tuple(v.shape) for k, v in DLA().state_dict().items()}
    assert shapes['level3.tree2.root.conv.weight'] == (128, 448, 1, 1)
    assert shapes['level5.root.conv.weight'] == (512, 1280, 1, 1)
    n_params = sum(p.numel() for p in DLA().parameters())
    assert n_params == 15_270_832  # official dla34 without its ImageNet fc (15,783,832 with it)


def test_dla_frozen_stages_and_norm_eval():
    model = DLA(frozen_stages=1, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.level1.parameters())
    assert not any(p.requires_grad for p in model.base_layer.parameters())
    assert all(p.requires_grad for p in model.level2.parameters())
    assert not model.level5.root.bn.training
    assert model.level5.root.conv.training


def test_dla_backward_reaches_used_parameters():
    model = DLA().train()
    sum(o.mean() for o in model(torch.randn(2, 3, 32, 32))).backward()
    no_grad = {n for n, p in model.named_parameters() if p.grad is None}
    # the outer trees' projections are unused in the official forward as well
    assert no_grad == {'level3.project.0.weight', 'level3.project.1.weight',
                       'level3.project.1.bias', 'level4.project.0.weight',
                       'level4.project.1.weight', 'level4.project.1.bias'}


def test_dla_invalid_depth():
    with pytest.raises(KeyError):
        DLA(depth=18)


def test_dla_loads_imagenet_style_checkpoint(tmp_path):
    """The DLA authors' ImageNet checkpoints share our names (plus an unused ``fc``)."""
    source = DLA()
    with torch.no_grad():
        for p in source.parameters():
            p.normal_()
    state = dict(source.state_dict())
    state.update({'fc.weight': torch.zeros(1000, 512, 1, 1), 'fc.bias': torch.zeros(1000)})
    path = tmp_path / 'dla34-imagenet.pth'
    torch.save(state, path)
    model = DLA(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    for (name, ours), theirs in zip(model.state_dict().items(), source.state_dict().values()):
        assert torch.equal(ours, theirs), name
