"`num_workers='auto'`: the pure choice from given costs, and the measurement end to end for what cannot flake."
import contextlib, io, math, random, warnings
import numpy as np
import pytest
import torch
import synaug_nb.batches as B
from synaug_nb.batches import BatchSampler, Batches, available_cpus, choose_workers, input_costs
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.loaders import load_image_folder
from synaug_nb.models import small_cnn
from synaug_nb.train import Learner

# ---- the choice, from given numbers ----

@pytest.mark.parametrize('costs, n', [
    (dict(decode_s=0.4e-3, copy_s=0.9e-3, cpus=16), 0),                    # decoding cheaper than the copy
    (dict(decode_s=1e-3, copy_s=1e-3, cpus=16), 0),                        # as cheap: the main process
    (dict(decode_s=2e-3, copy_s=0.5e-3, cpus=16), 5),                      # ceil(2.5 / 0.5) workers fill the main process
    (dict(decode_s=2e-3, copy_s=0.5e-3, cpus=4), 4),                       # every CPU: the main process only takes batches in
    (dict(decode_s=2e-3, copy_s=0.5e-3, cpus=4, step_s=0.1e-3), 3),        # the CPUs but one: it runs a step too
    (dict(decode_s=50e-3, copy_s=0.1e-3, cpus=128), 8),                    # never more than 8
    (dict(decode_s=50e-3, copy_s=0.1e-3, cpus=128, most=2), 2),
    (dict(decode_s=2e-3, copy_s=0.5e-3, cpus=16, step_s=2e-3), 1),         # a slow step needs fewer
    (dict(decode_s=2e-3, copy_s=0.5e-3, cpus=1), 0),                       # no CPU to spare
    (dict(decode_s=0.34e-3, copy_s=0.08e-3, cpus=2, worker_s=0.4e-3), 2),  # one worker delivers less than the main process decodes, two more
    (dict(decode_s=0.34e-3, copy_s=0.08e-3, cpus=2, worker_s=0.4e-3, step_s=0.01e-3), 0),  # a step to run: one worker to spare, and it is slower
    (dict(decode_s=0.34e-3, copy_s=0.08e-3, cpus=2, worker_s=0.4e-3, step_s=1e-3), 1),   # but the step keeps the main process busy
    (dict(decode_s=36e-3, copy_s=1e-3, cpus=2, worker_s=1.3e-3), 2),       # 224 px on 2 CPUs: a worker is far faster
    (dict(decode_s=1.05e-3, copy_s=0.1e-3, cpus=2, worker_s=1e-3, step_s=0.01e-3), 0),   # one worker, under 10% better: not worth a process
    (dict(decode_s=2e-3, copy_s=math.inf, cpus=16), 0),                    # no worker could start
    (dict(decode_s=2e-3, copy_s=0.5e-3, cpus=16, worker_s=math.inf), 0),
])
def test_choose_workers(costs, n):
    got, why = choose_workers(**costs)
    assert got == n and isinstance(why, str)
    assert why.startswith('decoding in the main process' if n == 0 else f"{n} decoding worker")

def test_choose_workers_reasons():
    assert choose_workers(0.4e-3, 0.9e-3, 16)[1] == 'decoding in the main process: 0.4 ms/image to decode <= 0.9 ms/image to copy from a worker'
    assert choose_workers(2e-3, math.inf, 16)[1] == 'decoding in the main process: no loader worker could start'
    assert choose_workers(2e-3, 0.5e-3, 1)[1] == ('decoding in the main process: 1 CPU, none to spare for a worker '
                                                  '(2 ms/image to decode, 0.5 ms/image to copy from a worker)')
    assert choose_workers(36e-3, 1e-3, 2, worker_s=1.3e-3, step_s=0.1e-3)[1] == (
        '1 decoding worker: 769 images/s from 1 worker (1.3 ms/image each, 1 ms/image to copy) against 28 in the main process '
        '(36 ms/image to decode); 2 would keep up, at most 1 (CPUs - 1)')
    assert choose_workers(36e-3, 1e-3, 4, worker_s=1.3e-3)[0] == 2                # 2 keep up with the copy; more would wait
    assert choose_workers(0.34e-3, 0.08e-3, 2, worker_s=0.4e-3, step_s=0.01e-3)[1] == (
        'decoding in the main process: 2,857 images/s (0.34 ms/image to decode) against 2,500 images/s from 1 worker '
        '(0.4 ms/image each, 0.08 ms/image to copy)')
    assert choose_workers(50e-3, 0.1e-3, 128)[1].endswith('; 501 would keep up, at most 8 (the most allowed)')

def test_choose_workers_is_the_fewest_that_deliver_the_most():
    "Over a grid of costs, by the model the reason states: never fewer images/s than the main process, and no smaller count as fast."
    for d in (0.1e-3, 0.5e-3, 2e-3, 20e-3):
        for c in (0.02e-3, 0.2e-3, 1e-3):
            for w in (None, 0.5 * d, 2 * d):
                for s in (0.0, 1e-3):
                    for cpus in (1, 2, 4, 16):
                        n, _ = choose_workers(d, c, cpus, worker_s=w, step_s=s)
                        ww = d + c if w is None else w
                        rate = lambda k: 1 / (d + s) if k == 0 else min(k / ww, 1 / (c + s))
                        assert 0 <= n <= max(0, min(8, cpus - 1 if s > 0 or cpus == 1 else cpus))
                        assert rate(n) >= rate(0)
                        if n > 0: assert rate(n - 1) < rate(n) and d > c

@pytest.mark.parametrize('kw, msg', [
    (dict(decode_s=-1, copy_s=1e-3, cpus=4), 'decode_s must be a finite number >= 0; got -1'),
    (dict(decode_s=1e-3, copy_s=float('nan'), cpus=4), 'copy_s must be a finite number >= 0; got nan'),
    (dict(decode_s=1e-3, copy_s=1e-4, cpus=0), 'cpus must be an integer >= 1; got 0'),
    (dict(decode_s=1e-3, copy_s=1e-4, cpus=4, step_s=-1), 'step_s must be a finite number >= 0; got -1'),
    (dict(decode_s=1e-3, copy_s=1e-4, cpus=4, most=0), 'most must be an integer >= 1; got 0'),
])
def test_choose_workers_bad_input(kw, msg):
    with pytest.raises(DataError, match=msg.replace('(', r'\(')): choose_workers(**kw)

# ---- Batches and Learner: what is measured, and what it must not change ----

def _digits(root, n=120):
    from PIL import Image
    from synaug_nb.loaders import load_digits
    d = load_digits().subset(np.arange(n)); mem = d.subset(np.argsort(d.labels, kind='stable'))
    for i, (y, im) in enumerate(zip(mem.labels, mem.images.stack())):
        (root/mem.classes[y]).mkdir(parents=True, exist_ok=True); Image.fromarray(im[..., 0]).save(root/mem.classes[y]/f'{i:04d}.png')
    return mem, load_image_folder(root, mode='L')

@pytest.fixture
def digits(tmp_path): return _digits(tmp_path)

@pytest.fixture
def no_measuring(monkeypatch):
    def boom(*a, **k): raise AssertionError('measured')
    monkeypatch.setattr(B, 'input_costs', boom)

def test_in_memory_picks_0_without_measuring(digits, no_measuring):
    mem, _ = digits
    b = Batches(mem, BatchSampler(mem, 16))
    assert (b.num_workers, b.costs, b.loader) == (0, None, None) and b.workers_reason == 'in memory: one tensor, nothing to decode'

def test_a_given_number_is_not_measured(digits, no_measuring):
    _, files = digits
    for n in (0, 1, np.int64(2)):
        b = Batches(files, BatchSampler(files, 16), num_workers=n)
        assert b.num_workers == n and b.costs is None and b.workers_reason == f"num_workers={n} (given)"

def test_bad_num_workers_refused_before_measuring(digits, no_measuring):
    _, files = digits
    for bad in (-1, 1.5, 'many', True):
        with pytest.raises(DataError, match=r"num_workers must be 'auto' or an integer >= 0 \(0: decode in the main process\); got "):
            Batches(files, BatchSampler(files, 16), num_workers=bad)

def test_mixed_sizes_refused_before_measuring(tmp_path, no_measuring):
    from PIL import Image
    for c, s in (('a', 10), ('a', 12), ('b', 10)):
        (tmp_path/c).mkdir(exist_ok=True); Image.new('RGB', (s, s)).save(tmp_path/c/f'{c}{s}.png')
    with pytest.raises(DataError, match=r"12x12 RGB"): Learner(small_cnn(2, 3, width=8), load_image_folder(tmp_path), device='cpu')

def _rng_states(): return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()

def test_measuring_draws_from_no_generator(digits):
    _, files = digits
    import torchvision.transforms.v2 as T
    for ds in (files, files.with_transform(T.Compose([T.RandomCrop(8, padding=2), T.ToImage(), T.ToDtype(torch.float32, scale=True)]))):
        s = BatchSampler(ds, 16, seed=3); before, g = s.state(), _rng_states()
        b = Batches(ds, s)
        assert s.state() == before
        after = _rng_states(); assert torch.equal(g[0], after[0]) and (g[1] == after[1]).all() and g[2] == after[2]
        assert b.num_workers in range(min(8, available_cpus()) + 1) and isinstance(b.num_workers, int)
        assert set(b.costs) == {'decode_s', 'copy_s', 'worker_s', 'cpus'} and all(v > 0 for v in b.costs.values())
        assert choose_workers(**b.costs) == (b.num_workers, b.workers_reason)
        assert b.loader.num_workers == b.num_workers

def test_input_costs_and_the_cached_copy(digits, monkeypatch):
    _, files = digits
    c = input_costs(files, 16)
    assert set(c) == {'decode_s', 'copy_s', 'worker_s'} and all(0 < v < math.inf for v in c.values())
    monkeypatch.setattr(B, '_one_worker', lambda *a, **k: 7.0)       # the copy of this shape and batch size is not measured again
    c2 = input_costs(files, 16)
    assert c2['copy_s'] == c['copy_s'] and c2['worker_s'] == 7.0

def _fit(ds, steps=12, **kw):
    torch.manual_seed(0); m = small_cnn(10, 1, width=8)
    ln = Learner(m, ds, mix='mixup', batch_size=16, device='cpu', seed=2, **kw).fit(steps, progress=False)
    return ln, torch.rand(1)

def _same(a, b): return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))

def test_auto_trains_like_the_fixed_choice(digits):
    mem, files = digits
    (la, ra), (lm, rm) = _fit(files), _fit(mem)
    (lf, rf) = _fit(files, num_workers=la.batches.num_workers)
    assert la.batches.costs is not None and lf.batches.costs is None
    assert _same(la.model, lf.model) and _same(la.model, lm.model) and torch.equal(ra, rf) and torch.equal(ra, rm)
    assert la.sampler.state() == lm.sampler.state() and la.history == lf.history

@pytest.mark.parametrize('cpus, n', [(3, 3), (2, 2), (1, 0)])
def test_auto_with_planted_costs_uses_the_choice(digits, monkeypatch, cpus, n):
    "Measured costs planted: the workers `choose_workers` gives are the loader's, and train as memory does."
    mem, files = digits
    monkeypatch.setattr(B, 'input_costs', lambda *a, **k: {'decode_s': 3e-3, 'copy_s': 1e-4, 'worker_s': 3e-4})
    monkeypatch.setattr(B, 'available_cpus', lambda: cpus)
    (la, ra), (lm, rm) = _fit(files), _fit(mem)
    assert la.batches.num_workers == la.batches.loader.num_workers == n
    assert la.batches.workers_reason == choose_workers(3e-3, 1e-4, cpus, worker_s=3e-4)[1]
    assert _same(la.model, lm.model) and torch.equal(ra, rm)

def test_learner_tells_the_choice_once_and_only_when_verbose(digits, monkeypatch):
    _, files = digits
    monkeypatch.setattr(B, 'input_costs', lambda *a, **k: {'decode_s': 1e-4, 'copy_s': 2e-4, 'worker_s': 3e-4})
    def run(progress, **kw):
        err = io.StringIO(); ln = Learner(small_cnn(10, 1, width=8), files, batch_size=16, device='cpu', **kw)
        with contextlib.redirect_stderr(err): ln.fit(2, progress=progress); ln.fit(4, progress=progress)
        return [l for l in err.getvalue().splitlines() if l.startswith('train input')]
    assert run(True) == ['train input: decoding in the main process: 0.1 ms/image to decode <= 0.2 ms/image to copy from a worker']
    assert run(False) == [] and run(True, num_workers=0) == []

def test_workers_is_a_deprecated_alias(digits):
    _, files = digits
    for make in (lambda **kw: Batches(files, BatchSampler(files, 16), **kw),
                 lambda **kw: Learner(small_cnn(10, 1, width=8), files, batch_size=16, device='cpu', **kw).batches):
        with pytest.warns(FutureWarning, match=r"workers= is deprecated and goes in the next release; pass num_workers= \(torch DataLoader's name\)") as w:
            assert make(workers=0).num_workers == 0
        assert len(w) == 1 and w[0].filename == __file__          # pointed at the caller
        with pytest.raises(DataError, match=r"pass num_workers= only; workers= is its deprecated alias \(got num_workers=1 and workers=0\)"):
            make(num_workers=1, workers=0)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert Batches(files, BatchSampler(files, 16), num_workers=None).costs is not None   # None is 'auto', without a warning
