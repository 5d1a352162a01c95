"""ShuffleNetV2: torchvision's architecture (parameter counts), outputs, freezing."""
import pytest
import torch

from mmcenternet.models.backbones import ShuffleNetV2
from mmcenternet.models.backbones.shufflenet_v2 import channel_shuffle

# torchvision's shufflenet_v2_x1_0 / x0_5 have 2,278,604 / 1,366,792 parameters; without
# their classification parts (conv5: 1x1 conv to 1024 + BN; fc: 1024 -> 1000) that leaves:
FC = 1024 * 1000 + 1000


@pytest.mark.parametrize('width,total,last', [(1.0, 2278604, 464), (0.5, 1366792, 192)])
def test_same_parameters_as_torchvision_without_the_classifier(width, total, last):
    conv5 = last * 1024 + 2 * 1024
    model = ShuffleNetV2(width)
    assert sum(p.numel() for p in model.parameters()) == total - conv5 - FC


def test_outputs_strides_and_channels():
    model = ShuffleNetV2(1.0).eval()
    outs = model(torch.randn(2, 3, 96, 128))
    assert [tuple(o.shape[1:]) for o in outs] == [(24, 24, 32), (116, 12, 16), (232, 6, 8),
                                                  (464, 3, 4)]
    assert model.out_channels == (24, 116, 232, 464)
    two = ShuffleNetV2(0.5, out_indices=(1, 2)).eval()(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in two] == [48, 96]


def test_channel_shuffle_interleaves_the_two_halves():
    x = torch.arange(6.).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_frozen_stages_and_norm_eval():
    model = ShuffleNetV2(0.5, frozen_stages=1, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.conv1.parameters())
    assert not any(p.requires_grad for p in model.stage2.parameters())
    assert all(p.requires_grad for p in model.stage3.parameters())
    assert not model.stage3[0].branch2[1].training  # BN in eval mode


@pytest.mark.parametrize('kwargs,message', [(dict(widen_factor=0.75), 'widen_factor'),
                                            (dict(out_indices=(4, )), 'out_indices'),
                                            (dict(frozen_stages=4), 'frozen_stages')])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ShuffleNetV2(**kwargs)
