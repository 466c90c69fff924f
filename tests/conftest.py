import shutil, sys
from pathlib import Path
import pytest
from strict_deps import pytest_runtest_makereport, pytest_make_collect_report   # under CI=true a skip fails

BIN = Path(sys.executable).parent

@pytest.fixture
def synaug_cmd():
    "The installed `synaug` console script (the one beside this Python)."
    exe = BIN/'synaug'
    return [str(exe)] if exe.exists() else [sys.executable, '-m', 'synaug_nb.cli']

FMNIST = Path('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')
needs_fmnist = pytest.mark.skipif(not FMNIST.exists(), reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)")
