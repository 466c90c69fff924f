import subprocess, sys
from pathlib import Path
import pytest
from strict_deps import pytest_runtest_makereport, pytest_make_collect_report   # under CI=true a skip fails

BIN = Path(sys.executable).parent

def synaug_process(*args, cmd=None, timeout=600, env=None) -> 'subprocess.CompletedProcess':
    """`synaug ARGS` as a process of its own, its output captured: the installed console script (the one beside this
    Python), or `cmd` (e.g. a script that kills itself at a chosen step). For what needs a process boundary: the
    console script itself, a kill, two writers. Everything else uses `synaug_in_process`."""
    exe = BIN/'synaug'
    cmd = list(cmd) if cmd is not None else [str(exe)] if exe.exists() else [sys.executable, '-m', 'synaug_nb.cli']
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env)

FMNIST = Path('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')
needs_fmnist = pytest.mark.skipif(not FMNIST.exists(), reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)")

def synaug_in_process(*args) -> 'subprocess.CompletedProcess':
    """`synaug ARGS` run by `synaug_nb.cli.main` in this process, its stdout and stderr captured, as `subprocess.run` reports it.
    For the tests whose point is what the command says and writes (bad input, refusals): no interpreter start and no
    torch import per call. What needs a process boundary (the console script, a kill, two writers, accelerate) keeps `subprocess`."""
    import contextlib, io
    from synaug_nb.cli import main
    args = [str(a) for a in args]; out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: rc = main(args)
        except SystemExit as e: rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)   # argparse: --help, a bad choice
    return subprocess.CompletedProcess(['synaug', *args], rc, out.getvalue(), err.getvalue())
