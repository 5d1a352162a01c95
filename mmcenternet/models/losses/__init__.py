from .centernet_losses import CenterNetFocalLoss, RegL1Loss

__all__ = ['CenterNetFocalLoss', 'RegL1Loss']
