"""Convert an MMDetection 3.x CenterNet checkpoint to mmcenternet.

    python tools/model_converters/mmdet2mmcn.py \\
        centernet_resnet18_dcnv2_140e_coco_20210702_155131-c8cd631f.pth r18-dcnv2_mmcn.pth

mmdet's ``centernet_r18-dcnv2_8xb16-crop512-140e_coco`` weights load into our config of the
same name (``configs/centernet/``), its ``centernet_r18_8xb16-crop512-140e_coco`` (plain 3x3
conv in the neck) into that config with ``model.neck.conv_cfg=None``; both give mmdet's
detections. The source is read weights-only and the result holds plain tensors and the
checkpoint's ``dataset_meta`` (class names). The key mapping is
``mmcenternet.checkpoint.mmdet_centernet``.
"""
import argparse
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert an mmdet CenterNet checkpoint')
    parser.add_argument('src', help='mmdet checkpoint (.pth)')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmcenternet.checkpoint import atomic_torch_save, safe_load, strip_module_prefix
    from mmcenternet.checkpoint.mmdet_centernet import convert_mmdet_state_dict, neck_has_dcn
    from mmcenternet.errors import CheckpointError, ConversionError
    checkpoint = safe_load(args.src, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise CheckpointError(f'{args.src} holds no state dict')
    state = strip_module_prefix(state)
    try:
        converted = convert_mmdet_state_dict(state)
    except ConversionError as err:
        raise ConversionError(f'{args.src}: {err}') from err
    meta = {'source': str(args.src), 'converter': 'mmdet2mmcn'}
    dataset_meta = (checkpoint.get('meta') or {}).get('dataset_meta')
    if dataset_meta:
        meta['dataset_meta'] = dataset_meta
    atomic_torch_save({'meta': meta, 'state_dict': converted}, args.dst)
    neck = 'DCNv2' if neck_has_dcn(state) else 'plain conv (use model.neck.conv_cfg=None)'
    print(f'mmdet CenterNet ({neck} neck): converted {len(converted)} tensors -> {args.dst}')
    return 0


if __name__ == '__main__':
    from mmcenternet.utils.cli import friendly_errors
    with friendly_errors():
        sys.exit(main())
