"""``tools/test.py --eval``: metric names per evaluator type.

A task registers the names its evaluators accept in ``EVAL_METRICS`` (evaluator type ->
``{name on the command line: value of the evaluator's metric argument}``). A config may
have several evaluators (e.g. person boxes with ``CocoMetric`` and keypoints with a keypoint
metric): ``--eval`` keeps those that compute a requested name and drops the others.
"""
from typing import Dict, List, Sequence

from mmcenternet.errors import ConfigError

EVAL_METRICS: Dict[str, Dict[str, str]] = {
    'CocoMetric': {'bbox': 'bbox', 'proposal': 'proposal', 'proposal_fast': 'proposal_fast'},
    'CenterNetCocoMetric': {'bbox': 'bbox', 'proposal': 'proposal',
                            'proposal_fast': 'proposal_fast'},
    'VOCMetric': {'bbox': 'mAP', 'mAP': 'mAP', 'recall': 'recall'},
    'CocoKeypointMetric': {'keypoints': 'keypoints'},
    # KITTI 2D AP, AOS, BEV AP and 3D AP (E/M/H, R11 and R40) of monocular 3D detection
    'KittiMetric': {'kitti': 'kitti'},
    'WiderFaceMetric': {'widerface': 'widerface'},
    'FaceLandmarkMetric': {'landmarks': 'landmarks'},
}


def _strip_scope(type_name: str) -> str:
    return type_name.split('.')[-1]


def _as_list(evaluator_cfg) -> list:
    return list(evaluator_cfg) if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]


def _names_of(ev) -> Dict[str, str]:
    return EVAL_METRICS.get(_strip_scope(str(ev.get('type', ''))), {})


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
