from .centernet_head import CenterNetHead

__all__ = ['CenterNetHead']
