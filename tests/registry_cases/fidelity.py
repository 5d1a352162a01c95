"""Build cases of the modules added for the official-recipe fidelity work (issue 8)."""
import os.path as osp


def _voc_root(tmp):
    """A one-image VOC2007 layout (XML + split file; no image is read at build)."""
    root = tmp / 'VOCdevkit'
    (root / 'VOC2007' / 'Annotations').mkdir(parents=True)
    (root / 'VOC2007' / 'ImageSets' / 'Main').mkdir(parents=True)
    (root / 'VOC2007' / 'ImageSets' / 'Main' / 'trainval.txt').write_text('000001\n')
    (root / 'VOC2007' / 'Annotations' / '000001.xml').write_text(
        '<annotation><size><width>50</width><height>40</height></size><object>'
        '<name>dog</name><difficult>1</difficult><bndbox><xmin>5</xmin><ymin>6</ymin>'
        '<xmax>20</xmax><ymax>30</ymax></bndbox></object></annotation>')
    return str(root) + osp.sep


CASES = {
    ('DATASETS', 'CenterNetVOCDataset'): lambda tmp: dict(
        type='CenterNetVOCDataset', data_root=_voc_root(tmp),
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'), pipeline=[]),
}
