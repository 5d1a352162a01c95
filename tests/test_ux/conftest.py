"""A tiny toy workspace and a (randomly initialised) model checkpoint for the tool tests."""
import pytest
import torch
from mmengine.config import Config

from test_tools.toy_workspace import make_workspace


@pytest.fixture(scope='package')
def toy_model(tmp_path_factory):
    """``(tmp, config path, checkpoint path)``: 4 + 4 toy images of 64 px and a randomly
    initialised model with boxes about 12 px wide."""
    from mmcenternet.registry import MODELS
    tmp = tmp_path_factory.mktemp('ux')
    cfg = make_workspace(tmp, num_train=4, num_val=4, epochs=1)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg).model)
    model.init_weights()
    with torch.no_grad():
        model.bbox_head.branches['wh'][0][2].bias.fill_(3.)
    ckpt = tmp / 'model.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('circle', 'square', 'triangle',
                                                      'cross')}}}, ckpt)
    return tmp, cfg, ckpt


@pytest.fixture(scope='package')
def score_thr(toy_model):
    """A score threshold between the 3rd and 4th best scores of val image 000001 (so that
    a drawing shows 3 boxes, not a wall of labels)."""
    from mmcenternet.apis import inference_detector, init_detector
    tmp, cfg, ckpt = toy_model
    scores = inference_detector(init_detector(cfg, ckpt),
                                str(tmp / 'toy' / 'val' / '000001.png')).pred_instances.scores
    top = scores.sort(descending=True).values
    return float(top[2] + top[3]) / 2
