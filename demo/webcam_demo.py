"""Live detection from a camera (or any cv2.VideoCapture source) with a frame-rate overlay.

    python demo/webcam_demo.py CONFIG CHECKPOINT                    # camera 0, a window
    python demo/webcam_demo.py CONFIG CKPT --camera-id 1
    python demo/webcam_demo.py CONFIG CKPT --source rtsp://host/stream --out live.mp4
    python demo/webcam_demo.py CONFIG CKPT --source clip.mp4 --no-show --out-dir frames/

The same inference and drawing as ``demo/image_demo.py`` (``mmcenternet.apis.Predictor``).
The rate in the corner is that of the whole loop (read, predict, draw) over the last 30
frames. Press ``q`` or Esc in the window to stop; without a window, ``--max-frames`` or the
end of the source stops it.
"""
import argparse
import os
import os.path as osp

from mmcenternet.apis import add_predictor_arguments, predictor_from_args
from mmcenternet.apis.video import (FrameRate, draw_frame_rate, frames_of, open_capture,
                                    open_writer, video_info)

QUIT_KEYS = (ord('q'), ord('Q'), 27)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='CenterNet webcam demo')
    add_predictor_arguments(parser)
    parser.add_argument('--camera-id', type=int, default=0, help='camera index')
    parser.add_argument('--source', default=None,
                        help='any other cv2.VideoCapture source (a file, a stream URL, a '
                        'GStreamer pipeline); overrides --camera-id')
    parser.add_argument('--no-show', action='store_true', help='do not open a window')
    parser.add_argument('--out', help='also write the annotated frames as a video')
    parser.add_argument('--out-dir', help='also write every annotated frame as a PNG')
    parser.add_argument('--max-frames', type=int, default=None, help='stop after N frames')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import cv2

    from mmcenternet.utils.progress import track
    source = args.source if args.source is not None else args.camera_id
    capture = open_capture(source)
    predictor = predictor_from_args(args)
    fps_in, _, size = video_info(capture)
    writer = open_writer(args.out, fps_in, size) if args.out else None
    if args.out_dir:
        os.makedirs(args.out_dir, exist_ok=True)
    rate, records, frames = FrameRate(), [], 0
    try:
        for index, frame in enumerate(track(frames_of(capture, args.max_frames),
                                            total=args.max_frames, desc='webcam',
                                            unit='frame')):
            sample = predictor.predict([frame])[0]
            drawn = predictor.draw(frame[..., ::-1], sample, name='webcam')[..., ::-1]
            drawn = draw_frame_rate(drawn.copy(), rate.tick())  # BGR from here on
            if writer is not None:
                writer.write(drawn)
            if args.out_dir:
                cv2.imwrite(osp.join(args.out_dir, f'{index:06d}.png'), drawn)
            records.append(predictor.record(sample, frame=index))
            frames += 1
            if not args.no_show:
                cv2.imshow('mmcenternet webcam demo', drawn)
                if cv2.waitKey(1) & 0xFF in QUIT_KEYS:
                    break
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if not args.no_show:
            cv2.destroyAllWindows()
    print(f'{frames} frames')
    predictor.save_records(args.pred_out, records, 'frames')
    return frames


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        main()
