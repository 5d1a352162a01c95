"""``tools/test.py --eval``: metric names per evaluator type."""
from typing import Dict, List, Sequence

from .cli import ConfigError

# evaluator type -> {name accepted on the command line: name the metric takes}
EVAL_METRICS: Dict[str, Dict[str, str]] = {
    'CocoMetric': {'bbox': 'bbox', 'proposal': 'proposal', 'proposal_fast': 'proposal_fast'},
    'VOCMetric': {'bbox': 'mAP', 'mAP': 'mAP', 'recall': 'recall'},
}


def _strip_scope(type_name: str) -> str:
    return type_name.split('.')[-1]


def supported_metrics(evaluator_cfg) -> List[str]:
    """Metric names ``--eval`` accepts for a config's ``test_evaluator``."""
    evaluators = evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]
    names: List[str] = []
    for ev in evaluators:
        names += list(EVAL_METRICS.get(_strip_scope(str(ev.get('type', ''))), {}))
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
    mapping = EVAL_METRICS[_strip_scope(evaluator['type'])]
    names = list(dict.fromkeys(mapping[m] for m in metrics))
    evaluator['metric'] = names if len(names) > 1 else names[0]
