"""A new task's annotation goes through ``CenterAffine`` and ``PackCenterNetInputs`` from the
task's own file (``register_affine_mapper``, ``register_jitter_style``,
``register_packed_fields``): no shared table or transform to edit."""
import numpy as np
import pytest

from mmcenternet.datasets.transforms import CenterAffine, PackCenterNetInputs
from mmcenternet.datasets.transforms import center_affine, formatting


@pytest.fixture
def own_tables(monkeypatch):
    """Registrations of a test do not outlive it."""
    monkeypatch.setattr(center_affine, 'AFFINE_MAPPERS', dict(center_affine.AFFINE_MAPPERS))
    monkeypatch.setattr(center_affine, 'JITTER_STYLES', dict(center_affine.JITTER_STYLES))
    monkeypatch.setattr(PackCenterNetInputs, 'mapping_table',
                        dict(PackCenterNetInputs.mapping_table))


def test_a_task_registers_its_mapper_and_its_packed_field(own_tables):
    seen = {}

    @center_affine.register_affine_mapper('gt_centers')
    def map_centers(results, mat, flipped, width, out_size):  # what a task file holds
        seen.update(flipped=flipped, width=width, out_size=out_size)
        results['gt_centers'] = results['gt_centers'] @ mat[:2, :2].T + mat[:2, 2]

    formatting.register_packed_fields(gt_centers='centers')
    results = dict(img=np.zeros((100, 200, 3), np.uint8), img_path='x.png',
                   gt_bboxes=np.array([[10., 20., 50., 60.]], np.float32),
                   gt_bboxes_labels=np.array([0]), gt_centers=np.array([[30., 40.]]))
    out = CenterAffine(input_size=(128, 128), flip_prob=1.0)(results)
    assert seen == dict(flipped=True, width=200, out_size=(128, 128))
    # the box center and the task's center went through the same matrix (flip included)
    box = out['gt_bboxes'][0]
    np.testing.assert_allclose(out['gt_centers'][0], [(box[0] + box[2]) / 2,
                                                      (box[1] + box[3]) / 2], rtol=1e-5)
    packed = PackCenterNetInputs()(out)['data_samples'].gt_instances
    np.testing.assert_allclose(packed.centers.numpy(), out['gt_centers'])
    # absent, the field is neither mapped nor packed
    out = CenterAffine(input_size=(128, 128))(dict(img=np.zeros((100, 200, 3), np.uint8)))
    assert 'gt_centers' not in out and 'centers' not in PackCenterNetInputs()(out)[
        'data_samples'].gt_instances


def test_a_field_packed_under_another_name_is_an_error(own_tables):
    with pytest.raises(ValueError, match="gt_keypoints.*already packed"):
        formatting.register_packed_fields(gt_keypoints='joints')
    formatting.register_packed_fields(gt_keypoints='keypoints')  # the same again is fine


def test_a_task_registers_its_jitter_style(own_tables):
    @center_affine.register_jitter_style('double')
    def double(t, center, size, height, width):
        return size * 2

    out = CenterAffine(input_size=(64, 64), shift=0.1, jitter_style='double')(
        dict(img=np.zeros((100, 100, 3), np.uint8)))
    assert out['scale_factor'] == (0.32, 0.32) and out['jittered']
    with pytest.raises(ValueError, match=r"jitter_style must be one of \('ctdet', 'ddd', "
                       r"'double'\), got 'random'"):
        CenterAffine(jitter_style='random')
