# Official "dla_34" (pose_dla_dcn.DLASeg): DLA-34 + DLAUp/IDAUp with DCNv2, head_conv 256.
_base_ = './centernet_r18-dcnv2.py'
model = dict(
    backbone=dict(_delete_=True, type='DLA', depth=34),
    neck=dict(_delete_=True, type='DLANeck', first_level=2, last_level=5, use_dcn=True),
    bbox_head=dict(in_channels=64, feat_channels=256, init_scheme='dla'),
    # The official init: the DLA authors' ImageNet DLA-34, the URL that pose_dla_dcn.py builds
    # (get_model_url('imagenet', 'dla34', 'ba72cf86')); its ImageNet classifier is dropped.
    init_cfg=dict(_delete_=True, type='PretrainedMapped',
                  checkpoint='http://dl.yf.io/dla/models/imagenet/dla34-ba72cf86.pth',
                  mapping='dla34_imagenet', module='backbone'))
# The official DLASeg never uses the outer projections of level3/4 (kept so official
# weights load), so DDP must tolerate parameters without gradients.
find_unused_parameters = True
