"""Cascade corner pooling and center pooling: what each output location can see.

(Equality with Duan's modules, weight for weight: tests/test_tools/test_duan_converter.py.)
"""
import pytest
import torch
from mmcv.ops import CornerPool
from mmdet.models.dense_heads.corner_head import BiCornerPool

from mmcenternet.registry import MODELS

SIZE = 24


def _response_change(module, y, x, py, px):
    """|change| of the output at (y, x) when the input changes at (py, px) only."""
    torch.manual_seed(0)
    module.eval()
    inp = torch.randn(1, 8, SIZE, SIZE)
    moved = inp.clone()
    moved[0, :, py, px] += 5
    with torch.no_grad():
        return (module(inp) - module(moved))[0, :, y, x].abs().max().item()


@pytest.mark.parametrize('corner,sign', [('top_left', 1), ('bottom_right', -1)])
def test_cascade_corner_sees_the_interior_plain_corner_pooling_does_not(corner, sign):
    torch.manual_seed(1)
    y = x = 10 if sign > 0 else SIZE - 11
    interior = (y + sign * 10, x + sign * 12)  # inside the box, off the corner's row/column
    cascade = MODELS.build(dict(type='CascadeCornerPool', in_channels=8, corner=corner,
                                feat_channels=4))
    plain = BiCornerPool(8, ['top', 'left'] if sign > 0 else ['bottom', 'right'],
                         feat_channels=4, out_channels=8)
    assert _response_change(cascade, y, x, *interior) > 1e-3
    assert _response_change(plain, y, x, *interior) == 0
    # nor a point outside the box (above-left of a top-left corner) beyond the convs' reach
    outside = (y - sign * 8, x - sign * 8)
    assert _response_change(cascade, y, x, *outside) == 0


def test_center_pool_sees_its_whole_row_and_column_only():
    torch.manual_seed(1)
    module = MODELS.build(dict(type='CenterPool', in_channels=8, feat_channels=4))
    assert _response_change(module, 12, 12, 12, 0) > 1e-3  # same row, far left
    assert _response_change(module, 12, 12, SIZE - 1, 12) > 1e-3  # same column, far below
    assert _response_change(module, 12, 12, 0, 0) == 0


def test_center_pool_reductions_are_row_and_column_maxima():
    module = MODELS.build(dict(type='CenterPool', in_channels=8))
    x = torch.randn(2, 3, 5, 7)
    assert torch.equal(module.direction1_pool(x), x.amax(2, keepdim=True).expand_as(x))
    assert torch.equal(module.direction2_pool(x), x.amax(3, keepdim=True).expand_as(x))
    assert torch.equal(module.direction1_pool(x), CornerPool('bottom')(CornerPool('top')(x)))


def test_bad_corner_name():
    with pytest.raises(ValueError, match='top_left'):
        MODELS.build(dict(type='CascadeCornerPool', in_channels=8, corner='top'))
