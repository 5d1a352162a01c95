"""Plot training curves and compute training times from mmengine's ``scalars.json``.

    # each loss term of a run (default), PNG or PDF
    python tools/analysis_tools/analyze_logs.py plot_curve work_dirs/quickstart --out loss.png
    # a validation metric of several runs on one plot, per epoch
    python tools/analysis_tools/analyze_logs.py plot_curve RUN_A RUN_B \\
        --keys coco/bbox_mAP_50 --legend A B --out ap50.pdf
    # time per iteration: slowest / fastest epoch, spread, mean
    python tools/analysis_tools/analyze_logs.py cal_train_time work_dirs/quickstart

A run is a work dir (all its ``<timestamp>/vis_data/scalars.json``, a resumed run's lines
replacing the re-run steps), one ``<timestamp>`` folder or a ``scalars.json`` file. The
commands are those of mmdet's ``analyze_logs.py``, which reads the 2.x ``.log.json`` layout
and is not in mmdet's pip package; the reading and plotting is
``mmcenternet.utils.log_analysis``.
"""
import argparse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Analyze training logs (scalars.json)')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot losses / metrics of one or more runs')
    plot.add_argument('logs', nargs='+', help='work dirs, run folders or scalars.json files')
    plot.add_argument('--keys', nargs='+', help='scalars to plot (default: every loss term); '
                      'e.g. loss loss_heatmap coco/bbox_mAP_50 lr')
    plot.add_argument('--x-axis', choices=['iter', 'epoch'], default=None,
                      help='default: epoch for validation metrics, iter otherwise')
    plot.add_argument('--title', help='figure title')
    plot.add_argument('--legend', nargs='+', help='one label per (run, key) line')
    plot.add_argument('--style', default='-', help='matplotlib line style of training keys')
    plot.add_argument('--out', help='write the figure (.png, .pdf, .svg); default: show it')
    times = sub.add_parser('cal_train_time', help='time per iteration of each run')
    times.add_argument('logs', nargs='+', help='work dirs, run folders or scalars.json files')
    times.add_argument('--include-outliers', action='store_true',
                       help='(kept for mmdet compatibility; every logged line is used)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmcenternet.utils.log_analysis import load_log, plot_curves, train_time
    logs = [load_log(path) for path in args.logs]
    if args.task == 'cal_train_time':
        for log in logs:
            t = train_time(log)
            unit = 'epoch' if log.by_epoch else 'block of 1000 iterations'
            print(f'-----Analyze train time of {log.name}-----')
            print(f'slowest {unit} {t.slowest}, average time is '
                  f'{t.epoch_times[t.slowest]:.4f} s/iter')
            print(f'fastest {unit} {t.fastest}, average time is '
                  f'{t.epoch_times[t.fastest]:.4f} s/iter')
            print(f'time std over {unit}s is {t.std:.4f}')
            print(f'average iter time: {t.mean:.4f} s/iter')
        return logs
    fig = plot_curves(logs, args.keys, args.out, args.x_axis, args.title, args.legend,
                      args.style)
    if args.out:
        print(f'plot -> {args.out}')
    else:
        import matplotlib.pyplot as plt
        plt.show()
    return fig


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
