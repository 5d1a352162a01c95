"""Build cases of the Keypoint Triplets modules (see README.md here)."""


def _head():
    return dict(type='TripletHead', codec=dict(type='TripletCodec', num_classes=3),
                in_channels=8, feat_channels=8, pool_channels=4, num_stacks=1)


CASES = {
    ('MODELS', 'TripletHead'): lambda tmp: _head(),
    ('MODELS', 'CascadeCornerPool'): lambda tmp: dict(type='CascadeCornerPool', in_channels=8,
                                                      corner='bottom_right', feat_channels=4),
    ('MODELS', 'CenterPool'): lambda tmp: dict(type='CenterPool', in_channels=8,
                                               feat_channels=4),
    ('MODELS', 'PullPushLoss'): lambda tmp: dict(type='PullPushLoss', pull_weight=0.1,
                                                 push_weight=0.1),
    ('MODELS', 'StackedHourglassNet'): lambda tmp: dict(
        type='StackedHourglassNet', downsample_times=2, num_stacks=1,
        stage_channels=(16, 16, 24), stage_blocks=(1, 1, 1), feat_channel=16),
    ('MODELS', 'TripletTTAModel'): lambda tmp: dict(
        type='TripletTTAModel', module=dict(
            type='CenterNet', backbone=dict(
                type='StackedHourglassNet', downsample_times=2, num_stacks=1,
                stage_channels=(16, 16, 24), stage_blocks=(1, 1, 1), feat_channel=16),
            bbox_head=dict(_head(), in_channels=16))),
    ('TASK_UTILS', 'TripletCodec'): lambda tmp: dict(type='TripletCodec', num_classes=3,
                                                     topk=10),
}
