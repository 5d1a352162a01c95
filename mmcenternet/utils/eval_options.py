"""``tools/test.py --eval``: metric names per evaluator type.

Each metric class names what ``--eval`` accepts for it in its ``eval_names`` attribute
(``{name on the command line: value of the metric's metric argument}``, e.g.
``eval_names = {'keypoints': 'keypoints'}``); mmdet's own metrics, which we leave as they
are, have theirs in :data:`MMDET_EVAL_NAMES`. A config may have several evaluators (e.g.
person boxes with ``CocoMetric`` and keypoints with a keypoint metric): ``--eval`` keeps
those that compute a requested name and drops the others.
"""
from typing import Dict, List, Sequence

from mmcenternet.errors import ConfigError
from mmcenternet.registry import METRICS

#: ``eval_names`` of mmdet's metric classes (and of their subclasses without their own).
MMDET_EVAL_NAMES: Dict[str, Dict[str, str]] = {
    'CocoMetric': {'bbox': 'bbox', 'proposal': 'proposal', 'proposal_fast': 'proposal_fast'},
    'VOCMetric': {'bbox': 'mAP', 'mAP': 'mAP', 'recall': 'recall'},
}


def eval_names(metric_type) -> Dict[str, str]:
    """The ``--eval`` names of a metric type (a registered name or a class); {} if none."""
    cls = metric_type if isinstance(metric_type, type) else METRICS.get(str(metric_type))
    for klass in getattr(cls, '__mro__', ()):
        if 'eval_names' in vars(klass):
            return dict(klass.eval_names)
        if klass.__module__.startswith('mmdet.') and klass.__name__ in MMDET_EVAL_NAMES:
            return dict(MMDET_EVAL_NAMES[klass.__name__])
    return {}


def _as_list(evaluator_cfg) -> list:
    return list(evaluator_cfg) if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]


def _names_of(ev) -> Dict[str, str]:
    return eval_names(ev.get('type', ''))


def supported_metrics(evaluator_cfg) -> List[str]:
    """Metric names ``--eval`` accepts for a config's ``test_evaluator``."""
    names: List[str] = []
    for ev in _as_list(evaluator_cfg):
        names += [n for n in _names_of(ev) if n not in names]
    return names


def apply_eval_option(cfg, metrics: Sequence[str], config_path: str) -> None:
    """Sets ``cfg.test_evaluator`` to compute ``metrics``; unknown names are an error."""
    evaluator = cfg.get('test_evaluator')
    if evaluator is None:
        raise ConfigError(f'{config_path} has no test_evaluator, so --eval cannot be used')
    valid = supported_metrics(evaluator)
    unknown = [m for m in metrics if m not in valid]
    if unknown:
        raise ConfigError(f'--eval {" ".join(unknown)}: not a metric of this config\'s '
                         f'dataset ({config_path}); valid names: {", ".join(valid) or "none"}')
    kept = []
    for ev in _as_list(evaluator):
        mapping = _names_of(ev)
        names = list(dict.fromkeys(mapping[m] for m in metrics if m in mapping))
        if names:
            ev['metric'] = names if len(names) > 1 else names[0]
            kept.append(ev)
    cfg.test_evaluator = kept[0] if len(kept) == 1 else kept
