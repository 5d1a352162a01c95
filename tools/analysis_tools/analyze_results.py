"""The best and the worst images of a ``tools/test.py --out results.pkl`` dump.

    python tools/analysis_tools/analyze_results.py CONFIG results.pkl SHOW_DIR --topk 20

Each image's mAP over IoU 0.5:0.95 (``mmdet.evaluation.eval_map`` per threshold, as mmdet's
tool) ranks the images; the ``--topk`` best go to ``SHOW_DIR/good/`` and the worst to
``SHOW_DIR/bad/``, drawn as ground truth | prediction and named
``<image>_<mAP>.png``. ``SHOW_DIR/per_image_map.csv`` lists every image's value. mmdet's
``analyze_results.py`` does the same with mmdet's drawing (boxes only, and no rule for the
negative sizes a weak CenterNet can regress).
"""
import argparse
import os
import os.path as osp


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Best and worst images of a results pickle')
    parser.add_argument('config', help='the config the results were made with')
    parser.add_argument('prediction_path', help='tools/test.py --out file')
    parser.add_argument('show_dir', help='folder for good/, bad/ and per_image_map.csv')
    parser.add_argument('--topk', type=int, default=20, help='images per group')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='drawn predictions need this score (all count for the mAP)')
    parser.add_argument('--iou-thrs', type=float, nargs='+', default=None,
                        help='IoU thresholds averaged (default 0.5:0.95:0.05)')
    parser.add_argument('--show', action='store_true', help='show the images')
    parser.add_argument('--wait-time', type=float, default=0, help='seconds per image shown')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings')
    return parser.parse_args(argv)


def draw(visualizer, dataset, result, index, name, out_file, args) -> None:
    """Ground truth | prediction of one image."""
    import mmcv
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmcenternet.evaluation.offline import ground_truth, predictions
    info = dataset.get_data_info(index)
    image = mmcv.imread(info['img_path'], channel_order='rgb')
    boxes, labels, ignored = ground_truth(dataset, index)
    sample = DetDataSample()
    sample.gt_instances = InstanceData(bboxes=torch.from_numpy(boxes[~ignored]),
                                       labels=torch.from_numpy(labels[~ignored]))
    pred_boxes, scores, pred_labels = predictions(result)
    sample.pred_instances = InstanceData(bboxes=torch.from_numpy(pred_boxes),
                                         scores=torch.from_numpy(scores),
                                         labels=torch.from_numpy(pred_labels))
    visualizer.add_datasample(name, image, sample, show=args.show, wait_time=args.wait_time,
                              pred_score_thr=args.show_score_thr, out_file=out_file)


def main(argv=None):
    args = parse_args(argv)
    import numpy as np
    from mmdet.registry import VISUALIZERS

    from mmcenternet.engine.config import load_config
    from mmcenternet.errors import ConfigError
    from mmcenternet.evaluation.offline import analysis_inputs, rank_images
    from mmcenternet.utils.progress import track
    if args.topk < 1:
        raise ConfigError(f'--topk must be >= 1, got {args.topk}')
    cfg = load_config(args.config, args.cfg_options)
    dataset, results = analysis_inputs(cfg, args.prediction_path)
    iou_thrs = args.iou_thrs or list(np.round(np.linspace(0.5, 0.95, 10), 2))
    ranked = rank_images(dataset, results, iou_thrs, path=args.prediction_path)
    os.makedirs(args.show_dir, exist_ok=True)
    with open(osp.join(args.show_dir, 'per_image_map.csv'), 'w') as f:
        f.write('img_path,mAP\n')
        for i, index, ap in ranked:
            f.write(f'{dataset.get_data_info(index)["img_path"]},{ap:.4f}\n')
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    topk = min(args.topk, len(ranked))
    groups = [('good', ranked[:topk]), ('bad', ranked[::-1][:topk])]
    written = {}
    for group, items in groups:
        folder = osp.join(args.show_dir, group)
        os.makedirs(folder, exist_ok=True)
        written[group] = []
        for i, index, ap in track(items, desc=group, unit='img'):
            stem = osp.splitext(osp.basename(dataset.get_data_info(index)['img_path']))[0]
            out_file = osp.join(folder, f'{stem}_{ap:.3f}.png')
            draw(visualizer, dataset, results[i], index, stem, out_file, args)
            written[group].append(out_file)
    print(f'{len(ranked)} images ranked; best and worst {topk} -> {args.show_dir}/good, '
          f'{args.show_dir}/bad')
    return written


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
