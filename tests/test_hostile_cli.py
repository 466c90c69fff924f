"Hostile input through the `synaug` command (issue 27): every refusal is one line naming the value, given before any work, and nothing already written is lost."
import builtins, errno, json, os, shlex, shutil
import pytest, torch
from conftest import synaug_in_process as here
import synaug_nb.cli as cli
import synaug_nb.pixel_diffusion as pd_mod
import synaug_nb.train as train_mod
from synaug_nb.pixel_diffusion import PixelDiffusion

TRAIN = ['train', '--data', 'digits', '--steps', '10', '--save-every', '5', '--quiet', '--cpu', '--num-workers', '0']
GEN = ['train-generator', '--data', 'digits', '--train-steps', '2', '--train-batch-size', '8', '--save-every', '1', '--quiet', '--cpu']

def one_line(r, *parts):
    "`r` failed with exit status 1 and one stderr line holding every part."
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and 'Traceback' not in r.stderr, r.stderr
    for p in parts: assert p in r.stderr, (p, r.stderr)
    return r.stderr

@pytest.fixture
def no_training(monkeypatch):
    "Any judge, classifier or generator training fails the test: refusals must come first."
    def boom(*a, **k): raise AssertionError('training started before the arguments were checked')
    monkeypatch.setattr(pd_mod, 'train_pixel_diffusion', boom)
    monkeypatch.setattr(train_mod, 'train_judge', boom)
    monkeypatch.setattr(train_mod.Learner, 'fit', boom)

def full_disk_at(monkeypatch, n:int, where=None):
    "The `n`th file opened for writing (below `where`, if given) fails as on a full disk: OSError ENOSPC."
    writes, real = [], builtins.open
    def fake(f, mode='r', *a, **k):
        if any(c in mode for c in 'wax') and (where is None or str(where) in str(f)):
            writes.append(f)
            if len(writes) == n: raise OSError(errno.ENOSPC, 'No space left on device', str(f))
        return real(f, mode, *a, **k)
    monkeypatch.setattr(builtins, 'open', fake)
    return writes

def read_only(monkeypatch):
    "Creating a file fails as on a read-only file system (tests may run as root, where chmod does not block)."
    real = os.open
    def fake(p, flags, *a, **k):
        if flags & os.O_CREAT: raise OSError(errno.EROFS, 'Read-only file system', str(p))
        return real(p, flags, *a, **k)
    monkeypatch.setattr(os, 'open', fake)

@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    "A finished `synaug train` folder and a finished `synaug train-generator` folder, trained once for the tests that copy them."
    d = tmp_path_factory.mktemp('finished')
    assert here(*TRAIN, '--out', d/'train').returncode == 0 and here(*GEN, '--out', d/'train-generator').returncode == 0
    return d

def files(d): return {p.relative_to(d): p.read_bytes() for p in sorted(d.rglob('*')) if p.is_file()}

# finding 5: numbers validated at parse time, options that would be ignored refused
@pytest.mark.parametrize('args,msg', [
    (['--filter-criterion', 'loss', '--filter-quantile', '2'], '--filter-quantile must be a number in (0, 1); got 2.0'),
    (['--filter-quantile', '0.5'], '--filter-quantile only works with --filter-criterion'),
    (['--filter-min-confidence', '1.5'], '--filter-min-confidence must be a number in (0, 1]; got 1.5'),
    (['--filter-near-duplicate', '0'], '--filter-near-duplicate must be a number in (0, 1]; got 0.0'),
    (['--gate', 'off', '--gate-per-class', '5'], '--gate-per-class only works with --gate stop or warn'),
    (['--train-batch-size', '0'], '--train-batch-size must be an integer >= 1; got 0')])
def test_synthesize_numbers_checked_before_any_training(tmp_path, no_training, args, msg):
    one_line(here('synthesize', '--data', 'digits', '--out', tmp_path/'s', *args), msg)
    assert not (tmp_path/'s').exists()

@pytest.mark.parametrize('cmd', [['train-generator', '--data', 'digits'], ['train', '--data', 'digits'], ['profile', '--data', 'digits'],
                                 ['synthesize', '--data', 'digits'], ['run', '--data', 'digits', '--quick']])
def test_out_read_only_or_a_file_is_refused_before_work(tmp_path, monkeypatch, no_training, cmd):
    f = tmp_path/'a-file'; f.write_text('keep')
    one_line(here(*cmd, '--out', f), f"--out '{f}' is a file")
    one_line(here(*cmd, '--out', f/'below'), f"lies below the file '{f}'")
    assert f.read_text() == 'keep'
    read_only(monkeypatch)
    one_line(here(*cmd, '--out', tmp_path/'ro'), f"cannot write '{tmp_path/'ro'}': the file system is read-only")

def test_train_generator_full_disk_leaves_no_loadable_half(tmp_path, monkeypatch):
    out = tmp_path/'g'
    with monkeypatch.context() as m:
        full_disk_at(m, 1, where='scheduler_config.json')
        one_line(here(*GEN, '--out', out), f"cannot write '{out}': no space left on the device")
    with pytest.raises(ValueError, match='is not a saved PixelDiffusion'): PixelDiffusion.from_pretrained(out)
    assert not (out/'.partial').exists() and (out/'checkpoint'/'state.pt').is_file()   # the training is kept
    r = here(*GEN, '--resume', '--out', out); assert r.returncode == 0, r.stderr        # and continues once there is space
    assert PixelDiffusion.from_pretrained(out).classes == [str(i) for i in range(10)]

# finding 6: one StorageError line for every command that writes
@pytest.mark.parametrize('n,name,kept', [(1, 'train_settings.json', None), (4, 'checkpoint/model.safetensors', 5),   # the second checkpoint
                                         (6, 'model.safetensors', 10)])                                             # after training
def test_train_full_disk_is_one_storage_line(tmp_path, monkeypatch, n, name, kept):
    out = tmp_path/'t'
    with monkeypatch.context() as m:
        full_disk_at(m, n, where=out)
        one_line(here(*TRAIN, '--out', out), f"cannot write '{out/name}': no space left on the device")
    if kept:   # the checkpoint written before the failure is whole, and resumes
        assert int(torch.load(out/'checkpoint'/'state.pt', weights_only=True)['step']) == kept
        r = here(*TRAIN, '--resume', '--out', out); assert r.returncode == 0, r.stderr
        assert (out/'report.json').is_file()

@pytest.mark.parametrize('n,name', [(1, 'profile.json'), (2, 'profile.html')])
def test_profile_full_disk_is_one_storage_line(tmp_path, monkeypatch, n, name):
    out = tmp_path/'p'
    with monkeypatch.context() as m:
        full_disk_at(m, n, where=out)
        one_line(here('profile', '--data', 'digits', '--out', out), f"cannot write '{out/name}': no space left on the device")

@pytest.mark.parametrize('err', [OSError(errno.ENOSPC, 'No space left on device', 'x/report.html'),
                                 RuntimeError('Error while serializing: I/O error: No space left on device (os error 28)'),
                                 RuntimeError('[enforce fail at inline_container.cc:672] . unexpected pos 64 vs 0\nPytorchStreamWriter failed writing file')])
def test_unconverted_write_failures_become_one_storage_line(monkeypatch, tmp_path, err):
    "What a module left raw (an OSError, a safetensors or torch writer error) still reaches the user as one StorageError line."
    def fails(a): raise err
    monkeypatch.setattr(cli, 'train_cmd', fails)
    e = one_line(here('train', '--data', 'digits', '--out', tmp_path), 'cannot write')
    assert 'full' in e or 'no space left' in e

# finding 7: a checkpoint without its settings is not resumed unchecked
def test_resume_without_train_settings_is_refused(tmp_path, finished):
    out = shutil.copytree(finished/'train', tmp_path/'t')
    (out/'train_settings.json').unlink(); before = files(out)
    one_line(here(*TRAIN, '--resume', '--lr', '0.5', '--seed', '7', '--out', out), "has no 'train_settings.json' beside it", '--resume-unchecked')
    assert files(out) == before
    r = here(*TRAIN, '--resume-unchecked', '--out', out); assert r.returncode == 0, r.stderr
    assert json.loads((out/'train_settings.json').read_text())['lr'] == 0.05

# finding 8: one clear line naming the value
@pytest.mark.parametrize('seed', ['-1', '4294967296'])
@pytest.mark.parametrize('cmd', [['profile'], ['train'], ['train-generator'], ['synthesize'], ['run', '--quick'], ['demo', '--quick']])
def test_seed_out_of_range(tmp_path, no_training, cmd, seed):
    one_line(here(*cmd, '--data' if cmd[0] != 'demo' else '--dataset', 'digits', '--seed', seed, '--out', tmp_path/'o'),
             f'--seed must be an integer in [0, 4294967295]; got {seed}')
    assert not (tmp_path/'o').exists()

@pytest.mark.parametrize('args,msg', [(['--many-above', '-5'], '--many-above must be a finite number >= 0; got -5.0'),
                                      (['--many-above', '5', '--few-below', '7.2'], '--few-below 7.2 exceeds --many-above 5'),
                                      (['--many-above', '2'], 'few_below')])   # the scaled default (3.6) above it
def test_thresholds(tmp_path, args, msg):
    e = one_line(here('profile', '--data', 'digits', '--out', tmp_path/'p', *args), msg)
    assert '99999' not in e

@pytest.mark.parametrize('cmd', ['train', 'train-generator'])
def test_pickled_state_is_refused_naming_the_file(tmp_path, finished, cmd):
    out = shutil.copytree(finished/cmd, tmp_path/'o'); base = TRAIN if cmd == 'train' else GEN
    st = out/'checkpoint'/'state.pt'
    torch.save({'step': 1, 'payload': tmp_path}, st)   # a Path: a pickled Python object
    e = one_line(here(*base, '--resume', '--out', out), f"'{st}' holds pickled Python objects", 'never loads')
    assert 'weights_only' not in e

class Interrupt(train_mod.Callback):
    "Ctrl-C right after step `n` (its checkpoint written): a KeyboardInterrupt, as SIGINT raises."
    order = 99
    def __init__(self, n): self.n = n
    def after_batch(self):
        if self.learn.step == self.n: raise KeyboardInterrupt

def test_interrupt_names_the_command_that_resumes(tmp_path, monkeypatch):
    out = tmp_path/'t'; fit = train_mod.Learner.fit
    with monkeypatch.context() as m:
        m.setattr(train_mod.Learner, 'fit', lambda self, *a, cbs=(), **k: fit(self, *a, cbs=[*cbs, Interrupt(5)], **k))
        r = here(*TRAIN, '--out', out)
    assert r.returncode == 130 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    cmd = r.stderr.split('resume it with: ')[1].strip()
    assert cmd.startswith('synaug train ') and cmd.endswith(' --resume')
    r = here(*shlex.split(cmd)[1:]); assert r.returncode == 0, r.stderr
    assert len(json.loads((out/'report.json').read_text())['per_class_accuracy']) == 10

def test_warnings_are_one_line(tmp_path, monkeypatch):
    import warnings
    def warns(a): warnings.warn('skipped 2 bad files:\na.png, b.png', UserWarning); return {}
    monkeypatch.setattr(cli, 'train_cmd', warns)
    shown = warnings.showwarning
    r = here('train', '--data', 'digits', '--out', tmp_path)
    assert (r.returncode, r.stderr) == (0, 'synaug train: warning: skipped 2 bad files: a.png, b.png\n')
    assert warnings.showwarning is shown   # restored after main

def test_bomb_is_one_line(tmp_path):
    "Pillow's own decompression-bomb warning is not printed beside synaug's refusal, which names the file."
    from synaug_nb.test_utils import write_image_folder, write_bomb_png
    root = write_image_folder(tmp_path/'f', n_per_class=3)
    write_bomb_png(root/'cat'/'bomb.png', 12000, 12000)   # 144 Mpx: over Pillow's warning (89 Mpx) and synaug's limit (64 Mpx)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('always')   # shown every time, as in a fresh process
        r = here('profile', '--data', f'folder:{root}', '--out', tmp_path/'o')
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'bomb.png' in r.stderr and '12000x12000' in r.stderr
