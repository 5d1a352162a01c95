from .visualizer import CenterNetVisualizer, register_instance_drawer

__all__ = ['CenterNetVisualizer', 'register_instance_drawer']
