"""Detect objects in every frame of a video and write the annotated video.

    python demo/video_demo.py VIDEO CONFIG CHECKPOINT --out outputs/demo/video.mp4
    python demo/video_demo.py VIDEO CONFIG CKPT --out out.avi --show-heatmap --pred-out p.json

The same inference and drawing as ``demo/image_demo.py`` (``mmcenternet.apis.Predictor``),
frame by frame, with a progress bar. ``.mp4`` / ``.mov`` are written with the ``mp4v``
codec, ``.avi`` / ``.mkv`` with ``MJPG`` (both in OpenCV's wheels).
"""
import argparse

from mmcenternet.apis import add_predictor_arguments, predictor_from_args
from mmcenternet.apis.video import frames_of, open_capture, open_writer, video_info


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CenterNet video demo')
    parser.add_argument('video', help='video file (anything cv2.VideoCapture reads)')
    add_predictor_arguments(parser)
    parser.add_argument('--out', help='annotated video to write (.mp4, .avi, .mkv, .mov)')
    parser.add_argument('--show', action='store_true', help='show the frames in a window')
    parser.add_argument('--wait-time', type=float, default=0.001,
                        help='seconds each shown frame stays')
    parser.add_argument('--max-frames', type=int, default=None, help='first N frames only')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmcenternet.errors import ConfigError
    from mmcenternet.utils.progress import track
    if not (args.out or args.show or args.pred_out):
        raise ConfigError('nothing to do: give --out VIDEO, --show or --pred-out FILE.json')
    capture = open_capture(args.video)
    predictor = predictor_from_args(args)
    fps, count, size = video_info(capture)
    writer = open_writer(args.out, fps, size) if args.out else None
    total = min(count, args.max_frames) if count and args.max_frames else (
        count or args.max_frames)
    records, frames = [], 0
    try:
        for index, frame in enumerate(track(frames_of(capture, args.max_frames), total=total,
                                            desc='video', unit='frame')):
            sample = predictor.predict([frame])[0]
            drawn = predictor.draw(frame[..., ::-1], sample, name='video', show=args.show,
                                   wait_time=args.wait_time)
            if writer is not None:
                writer.write(drawn[..., ::-1])
            records.append(predictor.record(sample, frame=index))
            frames += 1
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    if frames == 0:
        raise ConfigError(f'{args.video}: no frame could be read')
    print(f'{frames} frames' + (f' -> {args.out}' if args.out else ''))
    predictor.save_records(args.pred_out, records, 'frames')
    return frames


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
