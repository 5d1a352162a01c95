"""StackedHourglassNet: mmdet's HourglassNet without the unused block of one stack."""
import torch
from mmdet.models.backbones.hourglass import HourglassNet

from mmcenternet.registry import MODELS

SMALL = dict(downsample_times=2, stage_channels=(16, 16, 24), stage_blocks=(1, 1, 2),
             feat_channel=16)


def test_one_stack_has_no_unused_parameters_and_equals_mmdet():
    ours = MODELS.build(dict(type='StackedHourglassNet', num_stacks=1, **SMALL)).eval()
    mmdet = HourglassNet(num_stacks=1, **SMALL).eval()
    extra = set(mmdet.state_dict()) - set(ours.state_dict())
    assert extra and all(k.startswith('inters.') for k in extra)
    assert set(ours.state_dict()) < set(mmdet.state_dict())
    ours.load_state_dict({k: v for k, v in mmdet.state_dict().items() if k not in extra})
    x = torch.randn(1, 3, 64, 64)
    out = ours(x)
    (sum(o.sum() for o in out)).backward()
    assert all(p.grad is not None for p in ours.parameters())  # every parameter is used
    with torch.no_grad():
        assert torch.equal(ours(x)[0], mmdet(x)[0])


def test_two_stacks_are_mmdet_as_is():
    ours = MODELS.build(dict(type='StackedHourglassNet', num_stacks=2, **SMALL))
    assert set(ours.state_dict()) == set(HourglassNet(num_stacks=2, **SMALL).state_dict())
