"""Install mmcenternet; configs/ and tools/ also go into ``mmcenternet/.mim`` (as mmdet)."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    namespace = {}
    with open(osp.join(HERE, 'mmcenternet', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), namespace)
    return namespace['__version__']


def parse_requirements(path: str):
    """Requirement lines of a file, without comments and ``-r`` includes."""
    reqs = []
    with open(osp.join(HERE, path)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and not line.startswith('-r'):
                reqs.append(line)
    return reqs


def add_mim_extension() -> None:
    """Links (develop) or copies (install/wheel) configs and tools into ``mmcenternet/.mim``."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'install', 'build')):
        mode = 'copy'
    else:
        return
    mim_path = osp.join(HERE, 'mmcenternet', '.mim')
    os.makedirs(mim_path, exist_ok=True)
    for name in ('configs', 'tools', 'demo'):
        src = osp.join(HERE, name)
        dst = osp.join(mim_path, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_path), dst, target_is_directory=True)
        else:
            shutil.copytree(src, dst)


if __name__ == '__main__':
    add_mim_extension()
    setup(
        name='mmcenternet',
        version=read_version(),
        description='The CenterNet family of detectors as an OpenMMLab MMDetection 3.x extension',
        long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
        long_description_content_type='text/markdown',
        keywords='computer vision, object detection, CenterNet, mmdetection',
        packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests', 'benchmarks')),
        include_package_data=True,
        package_data={'mmcenternet': ['.mim/configs/**/*', '.mim/tools/**/*', '.mim/demo/*']},
        # torch 2.13 wheels need 3.10; numpy>=1.26 has wheels there (1.26 up to 3.12, 2.x after)
        python_requires='>=3.10',
        license='Apache License 2.0',
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt') +
            parse_requirements('requirements/deploy.txt'),
            'deploy': parse_requirements('requirements/deploy.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
            'tensorboard': ['tensorboard'],  # the optional TensorboardVisBackend
        },
        zip_safe=False)
