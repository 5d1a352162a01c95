"""Every config folder's metafile.yml parses, names existing configs, and lists them all."""
import glob
import os.path as osp

import pytest
import yaml

from test_tools.toy_workspace import ROOT

FOLDERS = sorted(d for d in glob.glob(osp.join(ROOT, 'configs', '*'))
                 if osp.isdir(d) and not osp.basename(d).startswith('_'))


@pytest.mark.parametrize('folder', FOLDERS, ids=osp.basename)
def test_metafile_lists_the_folder_configs(folder):
    path = osp.join(folder, 'metafile.yml')
    assert osp.isfile(path), f'{folder} has no metafile.yml'
    assert osp.isfile(osp.join(folder, 'README.md')), f'{folder} has no README.md'
    meta = yaml.safe_load(open(path))
    collections = {c['Name'] for c in meta.get('Collections', [])}
    listed = set()
    for model in meta['Models']:
        config = osp.join(ROOT, model['Config'])
        assert osp.isfile(config), f'{path}: {model["Name"]}: no file {model["Config"]}'
        assert model['Name'] == osp.splitext(osp.basename(config))[0], model['Name']
        assert model['In Collection'] in collections, model['Name']
        for result in model.get('Results', []):  # absent for a config not trained here
            assert result['Task'] and result['Dataset'] and result['Metrics'], model['Name']
        listed.add(osp.basename(config))
    configs = {osp.basename(p) for p in glob.glob(osp.join(folder, '*.py'))}
    assert configs - listed == set(), f'{path} does not list {sorted(configs - listed)}'
