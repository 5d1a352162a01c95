"""Evaluate a ``tools/test.py --out results.pkl`` dump again, without running the model.

    python tools/analysis_tools/eval_metric.py CONFIG results.pkl [--eval bbox]

The config's ``test_evaluator`` (or the metrics named by ``--eval``, checked as in
``tools/test.py``) scores the dump against the test dataset's kept ground truth, exactly as
``tools/test.py`` did. mmdet's ``eval_metric.py`` also runs on our configs but scores against
the raw annotation file.
"""
import argparse


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Evaluate a results pickle')
    parser.add_argument('config', help='the config the results were made with')
    parser.add_argument('pkl_results', help='tools/test.py --out file')
    parser.add_argument('--eval', nargs='+', metavar='METRIC',
                        help='metrics to compute (default: the config\'s test_evaluator)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.evaluator import Evaluator

    from mmcenternet.engine.config import load_config
    from mmcenternet.evaluation.offline import analysis_inputs
    from mmcenternet.utils.eval_options import apply_eval_option
    cfg = load_config(args.config, args.cfg_options)
    dataset, results = analysis_inputs(cfg, args.pkl_results)
    if args.eval:
        apply_eval_option(cfg, args.eval, args.config)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    for metric in evaluator.metrics:  # the kept ground truth, as tools/test.py
        if callable(getattr(metric, 'bind_dataset', None)):
            metric.bind_dataset(dataset)
    metrics = evaluator.offline_evaluate(results)
    for name, value in metrics.items():
        print(f'{name}: {value}')
    return metrics


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
