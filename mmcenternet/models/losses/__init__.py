from .centernet_losses import CenterNetFocalLoss, RegL1Loss, RegSmoothL1Loss
from .pull_push_loss import PullPushLoss

__all__ = ['CenterNetFocalLoss', 'PullPushLoss', 'RegL1Loss', 'RegSmoothL1Loss']
