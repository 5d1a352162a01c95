import pytest
from mmengine.config import Config

from mmcenternet.errors import ConfigError
from mmcenternet.utils.eval_options import apply_eval_option, supported_metrics


def test_single_evaluator_maps_names():
    cfg = Config(dict(test_evaluator=dict(type='mmdet.VOCMetric', metric='recall')))
    apply_eval_option(cfg, ['bbox'], 'x.py')
    assert cfg.test_evaluator['metric'] == 'mAP'


def test_list_of_evaluators_keeps_the_requested_ones(monkeypatch):
    """A task's metric names its --eval names itself (``eval_names``): no shared table."""
    from mmengine.evaluator import BaseMetric

    from mmcenternet.registry import METRICS

    class FakeKeypointMetric(BaseMetric):
        eval_names = {'keypoints': 'keypoints'}

    METRICS.import_from_location()
    monkeypatch.setitem(METRICS._module_dict, 'FakeKeypointMetric', FakeKeypointMetric)
    evaluators = [dict(type='mmdet.CocoMetric', metric='bbox'),
                  dict(type='FakeKeypointMetric', metric='none')]
    assert supported_metrics(evaluators) == ['bbox', 'proposal', 'proposal_fast', 'keypoints']
    cfg = Config(dict(test_evaluator=[dict(e) for e in evaluators]))
    apply_eval_option(cfg, ['keypoints'], 'x.py')
    assert cfg.test_evaluator['type'] == 'FakeKeypointMetric'
    cfg = Config(dict(test_evaluator=[dict(e) for e in evaluators]))
    apply_eval_option(cfg, ['keypoints', 'bbox'], 'x.py')
    assert [e['type'] for e in cfg.test_evaluator] == ['mmdet.CocoMetric', 'FakeKeypointMetric']
    with pytest.raises(ConfigError, match='valid names: bbox, proposal, proposal_fast, '
                       'keypoints'):
        apply_eval_option(cfg, ['kitti'], 'x.py')
