"""Training-input throughput: how fast file-backed images reach the training loop, and what it costs a training step.

Run: python bench/input_pipeline.py [--dir /tmp/synaug_input_bench] [--workers 0,1,2,4] | tee /tmp/input_bench.txt
     python bench/input_pipeline.py --auto-only [--sizes 32 64 224]       (part 5 alone)

1. Builds once (cached in --dir) a folder of --n JPEGs at --size px, RGB, one subfolder per class, from the real
   Fashion-MNIST training images (upscaled; read with `synaug_nb.loaders.load_fashion_mnist`), written by a
   multiprocessing Pool.
2. Input throughput (images/s delivered as float batch tensors, no model) through `synaug_nb.train.Batches`, the
   iterator `Learner` trains from: num_workers=0 is decoding in the main process, then a DataLoader with
   1, 2, 4 worker processes. Batches are drawn by the same `BatchSampler` in every case. Each setting is timed
   --repeats times (alternating) after --warmup batches; the best is reported (the machine is shared).
3. One ResNet-18 (`build_model('resnet18', 10, 3)`) training step at --size px through `Learner.fit`: a
   --subset-image subset decoded into memory (`materialize`) against the same images read from the files by
   --step-workers workers (default 'auto'). After --warmup-steps, chunks of --steps steps (`fit` continued) alternate between the two,
   --rounds times; the median seconds per step, and the median of the paired chunk ratios, are reported.
4. The per-worker decode rate (1 worker) and how many workers would feed an A100 training ResNet-50, at rates that
   are ASSUMPTIONS (not measured here): ~800 img/s fp32, ~2,500 img/s with AMP.
5. num_workers='auto' against fixed 0, 1, 2, 4 at each of --sizes (32, 64, 224 px), on a folder of --auto-n JPEGs per
   size (built once, cached beside --dir as <dir>_<size>px). Per size, --auto-repeats rounds each measure every setting
   once, in turn (auto's own measuring, when `Batches` is made, is outside the timed batches and reported apart); the
   best of the rounds is kept. Auto passes when its best >= (1 - tol) x the best fixed setting's best, where tol is
   the noise: the larger of 5% and the largest round-to-round spread ((max - min) / max) of auto and of that setting.
   --auto-only runs this part alone; --skip-auto leaves it out.
"""
import argparse, gc, json, math, os, time
from multiprocessing import Pool
from pathlib import Path
import numpy as np
import torch

A100_RESNET50 = {'fp32': 800, 'AMP': 2500}   # assumed A100 ResNet-50 training rates (img/s), 224 px; not measured here

def _class_dir(k, name): return f"{k}_{name.replace('/', '-').replace(' ', '_')}"

def _write_one(job):
    from PIL import Image
    path, arr, size, quality = job
    Image.fromarray(arr).resize((size, size), Image.BILINEAR).convert('RGB').save(path, quality=quality)

def build_folder(root:Path, n:int, size:int, quality:int=90, procs:int|None=None) -> float:
    "Write `n` Fashion-MNIST training images as `size`-px RGB JPEGs under root/<class>/ (skipped when already there); returns seconds spent."
    from synaug_nb.loaders import load_fashion_mnist
    stamp = root/'.complete'; want = {'n': n, 'size': size, 'quality': quality}
    if stamp.exists() and json.loads(stamp.read_text()) == want: return 0.0
    t = time.perf_counter()
    fm = load_fashion_mnist(split='train')
    if n > len(fm): raise SystemExit(f"--n {n} is more than the {len(fm)} Fashion-MNIST training images")
    x, y = fm.images.stack()[:n, ..., 0], fm.labels[:n]
    dirs = [root/_class_dir(k, c) for k, c in enumerate(fm.classes)]
    for d in dirs: d.mkdir(parents=True, exist_ok=True)
    jobs = [(dirs[y[i]]/f'{i:05d}.jpg', x[i], size, quality) for i in range(n)]
    with Pool(procs or os.cpu_count()) as pool: pool.map(_write_one, jobs, chunksize=256)
    stamp.write_text(json.dumps(want))
    return time.perf_counter() - t

def throughput(ds, workers:int|str, batch_size:int, batches:int, warmup:int, device, threads:int|None=None, info:dict|None=None) -> float:
    "Images/s that `Batches` (Learner's input) delivers with `workers` decoding processes (or 'auto'), after `warmup` batches (`threads`: torch threads meanwhile; `info` gets what was chosen, why, and the seconds making `Batches` took)."
    from synaug_nb.batches import Batches, BatchSampler
    if threads:
        before = torch.get_num_threads(); torch.set_num_threads(threads)
        try: return throughput(ds, workers, batch_size, batches, warmup, device, info=info)
        finally: torch.set_num_threads(before)
    t = time.perf_counter()
    b = Batches(ds, BatchSampler(ds, batch_size, seed=0), num_workers=workers, device=device)
    if info is not None: info.update(num_workers=b.num_workers, reason=b.workers_reason, setup_s=time.perf_counter() - t)
    it = b(0, warmup + batches)
    for _ in range(warmup): next(it)
    t = time.perf_counter()
    for _ in range(batches): x, *_ = next(it)
    dt = time.perf_counter() - t
    assert x.shape[0] == batch_size
    it.close(); del it, b, x; gc.collect()        # shuts the persistent workers down
    return batches * batch_size / dt

def step_times(mem, files, a, device) -> dict:
    "Seconds per ResNet-18 training step through `Learner.fit`, in memory vs from files, in chunks of `a.steps` steps alternating between the two."
    from synaug_nb.models import build_model
    from synaug_nb.train import Learner
    runs = {}
    for key, ds, kw in (('memory', mem, {}), ('files', files, {'num_workers': a.step_workers})):
        torch.manual_seed(0)
        ln = Learner(build_model('resnet18', 10, 3), ds, batch_size=a.step_batch, device=device, seed=0, **kw)
        ln.fit(a.warmup_steps, progress=False)     # allocations, worker start-up
        runs[key] = (ln, [])
    for _ in range(a.rounds):                      # the machine is shared: alternate, compare chunk by chunk
        for ln, ts in runs.values():
            t = time.perf_counter(); ln.fit(ln.step + a.steps, progress=False); ts.append((time.perf_counter() - t) / a.steps)
    (_, tm), (lf, tf) = runs['memory'], runs['files']
    out = {'memory': float(np.median(tm)), 'files': float(np.median(tf)), 'paired': float(np.median(np.array(tf) / np.array(tm))),
           'workers': lf.batches.num_workers, 'reason': lf.batches.workers_reason}
    del runs, lf; gc.collect()
    return out

SETTINGS = ('auto', 0, 1, 2, 4)

def judge(rounds:dict) -> dict:
    "Auto against the best fixed setting from `rounds` ({setting: [images/s of each round]}): bests, the noise tolerance and the verdict (see part 5 of the docstring)."
    best = {k: max(v) for k, v in rounds.items()}
    spread = {k: (max(v) - min(v)) / max(v) if max(v) > 0 else 0.0 for k, v in rounds.items()}
    fixed = max((k for k in rounds if k != 'auto'), key=lambda k: best[k])
    tol = max(0.05, spread['auto'], spread[fixed])
    return {'best': best, 'fixed': fixed, 'ratio': best['auto'] / best[fixed], 'tol': tol, 'ok': best['auto'] >= (1 - tol) * best[fixed]}

def compare_auto(ds, a, device, settings=SETTINGS) -> dict:
    "Images/s of `Batches` over `ds` with each of `settings`, --auto-repeats alternating rounds; auto's choices and measuring times; `judge`'s verdict."
    rounds, chosen = {s: [] for s in settings}, []
    for _ in range(a.auto_repeats):
        for s in settings:
            info = {}; rounds[s].append(throughput(ds, s, a.batch_size, a.batches, a.warmup, device, info=info))
            if s == 'auto': chosen.append(info)
    return {'rounds': rounds, 'chosen': chosen, **judge(rounds)}

def auto_table(results:dict, a) -> list[str]:
    "The lines of part 5: a row per size (images/s, best of the rounds), auto's choices, and the verdict."
    fixed = [s for s in SETTINGS if s != 'auto']
    lines = [f"num_workers='auto' against fixed choices, batch {a.batch_size}, {a.batches} timed batches after {a.warmup}, "
             f"best of {a.auto_repeats} alternating rounds (images/s)",
             f"{'size':>6}{'auto':>9}{'(chose)':>9}" + ''.join(f"{f'{s} workers':>11}" for s in fixed) + f"{'best fixed':>12}{'auto/best':>11}{'tol':>6}  verdict"]
    for size, r in results.items():
        ch = sorted({c['num_workers'] for c in r['chosen']})
        lines.append(f"{f'{size}px':>6}{r['best']['auto']:>9.0f}{','.join(map(str, ch)):>9}" + ''.join(f"{r['best'][s]:>11.0f}" for s in fixed)
                     + f"{r['fixed']:>12}{r['ratio']:>10.2f}x{r['tol']:>6.0%}  {'auto >= best fixed' if r['ok'] else 'auto SLOWER than best fixed'}")
    for size, r in results.items():
        c = r['chosen'][-1]
        lines.append(f"  {size}px auto: {c['reason']} (measured in {max(x['setup_s'] for x in r['chosen']):.2f} s at most)")
    ok = all(r['ok'] for r in results.values())
    lines.append(f"auto at least as fast as the best fixed choice at every size (within tol): {'yes' if ok else 'NO'}")
    return lines

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dir', default='/tmp/synaug_input_bench', help='folder of the JPEGs (built once, reused)')
    ap.add_argument('--n', type=int, default=20000, help='JPEGs to write (Fashion-MNIST has 60,000)')
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--workers', default='0,1,2,4', help='comma-separated worker counts (0: the main process)')
    ap.add_argument('--batch-size', type=int, default=64, help='batch size of the throughput measurement')
    ap.add_argument('--batches', type=int, default=40, help='timed batches per throughput measurement')
    ap.add_argument('--warmup', type=int, default=5, help='batches before timing (worker start-up, caches)')
    ap.add_argument('--repeats', type=int, default=2, help='alternating throughput measurements per setting; the best is kept')
    ap.add_argument('--subset', type=int, default=1024, help='images of the in-memory copy for the training-step comparison')
    ap.add_argument('--step-batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=3, help='timed training steps per chunk')
    ap.add_argument('--rounds', type=int, default=4, help='alternating chunks per data source')
    ap.add_argument('--warmup-steps', type=int, default=2, help='training steps before timing (not 1 with --steps 3: Learner.fit(4) trips OneCycleLR)')
    ap.add_argument('--step-workers', type=lambda v: v if v == 'auto' else int(v), default='auto', help="workers of the file-backed training run (default: 'auto')")
    ap.add_argument('--device', default=None, help='training device (default: CUDA if available, else CPU)')
    ap.add_argument('--skip-steps', action='store_true', help='only the input throughput')
    ap.add_argument('--sizes', type=int, nargs='+', default=[32, 64, 224], help="image sizes of the num_workers='auto' comparison (part 5)")
    ap.add_argument('--auto-n', type=int, default=4000, help='JPEGs per size for the auto comparison')
    ap.add_argument('--auto-repeats', type=int, default=3, help='alternating rounds of the auto comparison; the best is kept')
    ap.add_argument('--auto-only', action='store_true', help="only part 5, the num_workers='auto' comparison")
    ap.add_argument('--skip-auto', action='store_true', help='leave out part 5')
    a = ap.parse_args()
    from synaug_nb.core import default_device
    from synaug_nb.loaders import load_image_folder
    from synaug_nb.batches import available_cpus
    device = default_device(a.device); root = Path(a.dir)
    if not a.auto_only: parts_1_to_4(root, a, device)
    if a.skip_auto: return
    results = {}
    for size in a.sizes:
        folder = Path(f"{a.dir}_{size}px"); folder.mkdir(parents=True, exist_ok=True)
        built = build_folder(folder, a.auto_n, size)
        print(f"{'' if a.auto_only else chr(10)}{a.auto_n:,} JPEGs {size}x{size} in {folder} ({'written in %.0f s' % built if built else 'cached'})", flush=True)
        results[size] = compare_auto(load_image_folder(folder, mode='RGB', verify=False), a, device)
    print(f"\n{available_cpus()} CPUs available, torch threads {torch.get_num_threads()}, device {device}")
    for line in auto_table(results, a): print(line)

def parts_1_to_4(root:Path, a, device):
    "Parts 1-4 of the docstring: the --size folder, input throughput per worker count, the training step, the A100 estimate."
    from synaug_nb.specs import materialize, check_same_size
    from synaug_nb.loaders import load_image_folder
    from synaug_nb.batches import available_cpus
    root.mkdir(parents=True, exist_ok=True)
    built = build_folder(root, a.n, a.size)
    ds = load_image_folder(root, mode='RGB', verify=False)
    t = time.perf_counter(); shape = check_same_size(ds); t_check = time.perf_counter() - t
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    print(f"Input pipeline: {len(ds):,} JPEGs {shape[1]}x{shape[0]} RGB from Fashion-MNIST in {root} "
          f"({'written in %.0f s' % built if built else 'cached'}), {ncpu} CPUs, torch threads {torch.get_num_threads()}, device {device}")
    print(f"size check before training (headers of {len(ds):,} files, threaded): {t_check:.2f} s\n")

    ws = [int(w) for w in a.workers.split(',')]
    rates = {w: 0.0 for w in ws}; ref = 0.0        # ref: the main process with one torch thread (no OpenMP in the per-image conversion)
    for _ in range(a.repeats):
        for w in ws: rates[w] = max(rates[w], throughput(ds, w, a.batch_size, a.batches, a.warmup, device))
        if 0 in ws: ref = max(ref, throughput(ds, 0, a.batch_size, a.batches, a.warmup, device, threads=1))
    base = rates.get(0)
    print(f"Training input, batch {a.batch_size}, {a.batches} timed batches after {a.warmup}, best of {a.repeats} (synaug_nb.train.Batches)")
    print(f"{'path':<34}{'workers':>8}{'images/s':>11}{'vs 0':>10}")
    for w in ws:
        path = f'main process ({torch.get_num_threads()} torch threads)' if w == 0 else 'DataLoader workers'
        print(f"{path:<34}{w:>8}{rates[w]:>11.0f}{(f'{rates[w] / base:.2f}x' if base else '-'):>10}" + ('   goal >= 1.80x' if w == 2 and base else ''))
        if w == 0: print(f"{'  reference: 1 torch thread':<34}{0:>8}{ref:>11.0f}{ref / base:>9.2f}x")

    if not a.skip_steps:
        sub = ds.subset(np.random.default_rng(0).permutation(len(ds))[:a.subset])
        mem = materialize(sub, mode='RGB')
        st = step_times(mem, sub, a, device)
        print(f"\nResNet-18 training step, {a.size} px, batch {a.step_batch}, {device} (Learner.fit; {a.rounds} alternating chunks of {a.steps} steps after {a.warmup_steps}, median)")
        print(f"{'data':<40}{'s/step':>9}{'vs memory':>11}")
        print(f"{f'in memory ({len(mem):,} images, uint8)':<40}{st['memory']:>9.3f}{'1.00x':>11}")
        label = f"same files, {st['workers']} workers"
        print(f"{label:<40}{st['files']:>9.3f}{st['files'] / st['memory']:>10.2f}x   goal <= 1.20x (median of paired chunk ratios: {st['paired']:.2f}x)")

    per = rates.get(1) or rates.get(0)
    print(f"\nPer-worker decode rate (1 worker, these {a.size}-px JPEGs, this machine): {per:.0f} img/s; main process: {rates.get(0, float('nan')):.0f} img/s")
    print("A100 ResNet-50 training rates below are ASSUMPTIONS, not measured here:")
    for k, r in A100_RESNET50.items():
        print(f"  ~{r:,} img/s ({k}): {math.ceil(r / per)} workers at {per:.0f} img/s each")
    print("(upscaled Fashion-MNIST JPEGs are small and smooth; ImageNet photos (~110 KB, ~400x350) with a random resized crop decode "
          "several times slower per image, so budget more workers than this)")
    auto = {}; throughput(ds, 'auto', a.batch_size, 1, 0, device, info=auto)
    print(f"num_workers='auto' here ({available_cpus()} CPUs): {auto['reason']}")

if __name__ == '__main__': main()
