"""Build cases of the visualisation / tooling modules."""


def _visualization_hook(tmp):
    # mmdet's hook takes the current visualizer when it is built
    from mmcenternet.visualization import CenterNetVisualizer
    CenterNetVisualizer.get_instance(f'ux-vis-{tmp.name}')
    return dict(type='CenterNetVisualizationHook', draw=True, show_heatmap=True)


CASES = {('HOOKS', 'CenterNetVisualizationHook'): _visualization_hook}
