import subprocess
import sys

from printserver import __version__
from printserver.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "printserver", *args], capture_output=True, text=True)


def test_version():
    r = run("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_bad_usage_exits_2():
    r = run("no-such-command")
    assert r.returncode == 2
    assert main([]) == 2
