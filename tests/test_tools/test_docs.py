"""The README and the manual: every local link and picture exists; the pictures of the
README are what ``make demo`` writes."""
import glob
import os.path as osp
import re

from test_tools.toy_workspace import ROOT

LINK = re.compile(r'!?\[[^\]]*\]\(([^)#\s]+)(?:#[^)]*)?\)|<img src="([^"]+)"')


def local_links(path):
    text = open(path).read()
    for match in LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if not re.match(r'^[a-z]+://', target):
            yield target


def test_every_local_link_of_the_docs_exists():
    pages = [osp.join(ROOT, 'README.md')] + glob.glob(osp.join(ROOT, 'docs', '*.md')) + \
        glob.glob(osp.join(ROOT, 'configs', '*', 'README.md'))
    missing = [(osp.relpath(page, ROOT), target) for page in pages
               for target in local_links(page)
               if not osp.exists(osp.join(osp.dirname(page), target))]
    assert not missing, missing


def test_readme_pictures_are_the_demos_outputs():
    """docs/images/demo/<name> and docs/images/demo/heatmap/<name> are copies of what
    tools/demo.sh writes to outputs/demo/ and outputs/demo/heatmap/; the AP plot is its
    outputs/demo/ap_per_epoch.png."""
    readme = open(osp.join(ROOT, 'README.md')).read()
    demo = open(osp.join(ROOT, 'tools', 'demo.sh')).read()
    shown = re.findall(r'docs/images/demo/((?:heatmap/)?\d{6}\.png)', readme)
    assert len(shown) == 8
    assert '--out-dir outputs/demo --max-images 8' in demo
    assert re.search(r'--out-dir outputs/demo/heatmap \\\s+--max-images 8 --show-heatmap', demo)
    assert 'outputs/demo/ap_per_epoch.png' in demo and 'ap_per_epoch.png' in readme
    for name in shown:  # val images 000000..000007 are the first 8 the demo draws
        assert int(osp.basename(name)[:6]) < 8
