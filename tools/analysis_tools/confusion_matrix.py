"""Confusion matrix of a ``tools/test.py --out results.pkl`` dump (background included).

    python tools/analysis_tools/confusion_matrix.py CONFIG results.pkl OUT_DIR \\
        [--score-thr 0.3] [--tp-iou-thr 0.5] [--show]

Writes ``OUT_DIR/confusion_matrix.png`` (row-normalised, percent) and
``OUT_DIR/confusion_matrix.csv`` (counts; rows: ground truth, columns: prediction, the last
of each is background). The counting rule is mmdet's tool's
(``mmcenternet.evaluation.offline.confusion_matrix``), without its optional NMS: CenterNet's
peak extraction replaces it.
"""
import argparse
import os
import os.path as osp


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Confusion matrix of a results pickle')
    parser.add_argument('config', help='the config the results were made with')
    parser.add_argument('prediction_path', help='tools/test.py --out file')
    parser.add_argument('save_dir', help='folder for confusion_matrix.png / .csv')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help='predictions below this score are ignored')
    parser.add_argument('--tp-iou-thr', type=float, default=0.5,
                        help='IoU from which a prediction matches a ground-truth box')
    parser.add_argument('--show', action='store_true', help='show the plot')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmcenternet.engine.config import load_config
    from mmcenternet.evaluation.offline import (analysis_inputs, confusion_matrix,
                                                plot_confusion_matrix)
    dataset, results = analysis_inputs(load_config(args.config, args.cfg_options),
                                       args.prediction_path)
    matrix = confusion_matrix(dataset, results, args.score_thr, args.tp_iou_thr,
                              args.prediction_path)
    classes = list(dataset.metainfo['classes'])
    os.makedirs(args.save_dir, exist_ok=True)
    names = classes + ['background']
    with open(osp.join(args.save_dir, 'confusion_matrix.csv'), 'w') as f:
        f.write('gt\\pred,' + ','.join(names) + '\n')
        for name, row in zip(names, matrix):
            f.write(name + ',' + ','.join(str(int(v)) for v in row) + '\n')
    plot_confusion_matrix(matrix, classes,
                          osp.join(args.save_dir, 'confusion_matrix.png'))
    print(f'confusion matrix of {len(results)} images -> {args.save_dir}/confusion_matrix.'
          '{png,csv}')
    if args.show:
        import matplotlib.pyplot as plt
        plt.show()
    return matrix


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
