"""The tools' one-line error handler: known errors as ``error: ...`` and exit code 2."""
import pytest

from mmcenternet import errors
from mmcenternet.errors import CheckpointError, ConfigError, MMCenterNetError
from mmcenternet.utils.cli import format_error, friendly_errors


@pytest.mark.parametrize('exc, expected', [
    (ConfigError('--cfg-options a.b: bad'), 'error: --cfg-options a.b: bad'),
    (CheckpointError('x.pth: bad'), 'error: x.pth: bad'),
    (FileNotFoundError(2, 'No such file or directory', 'cfg.py'),
     'error: [Errno 2] No such file or directory: \'cfg.py\''),
    (KeyError('Foo is not in the mmcenternet::model registry. Please check'),
     'error: Foo is not in the mmcenternet::model registry. Please check'),
])
def test_friendly_errors_exit_2(capsys, monkeypatch, exc, expected):
    monkeypatch.delenv('MMCN_DEBUG', raising=False)
    with pytest.raises(SystemExit) as info:
        with friendly_errors():
            raise exc
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(expected + '\n') and 'Traceback' not in err


def test_worker_errors_keep_the_worker_message():
    exc = FileNotFoundError(
        'Caught FileNotFoundError in DataLoader worker process 0.\n'
        'Original Traceback (most recent call last):\n  File "x.py", line 1\n'
        'FileNotFoundError: image file /data/img/0001.png does not exist.\n')
    assert format_error(exc) == 'image file /data/img/0001.png does not exist.'


def test_other_errors_propagate():
    with pytest.raises(KeyError):
        with friendly_errors():
            raise KeyError('a plain missing key')

    @friendly_errors()
    def main():
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        main()


def test_debug_shows_traceback(capsys, monkeypatch):
    monkeypatch.setenv('MMCN_DEBUG', '1')
    with pytest.raises(SystemExit):
        with friendly_errors():
            raise ConfigError('bad key')
    err = capsys.readouterr().err
    assert 'Traceback' in err and err.rstrip().endswith('error: bad key')


@pytest.mark.parametrize('name', sorted(errors.__all__))
def test_every_project_error_is_one_line(name, capsys, monkeypatch):
    """Every error class of mmcenternet.errors (one base, no lookup by module name) is
    shown as one ``error:`` line, whether or not the module that raises it was imported."""
    cls = getattr(errors, name)
    assert issubclass(cls, MMCenterNetError)
    monkeypatch.delenv('MMCN_DEBUG', raising=False)
    with pytest.raises(SystemExit) as info:
        with friendly_errors():
            raise cls('x.pth: bad')
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith('error: x.pth: bad\n')
