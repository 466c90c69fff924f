"""Soak test of resumable synthesis (issue 12): a long `synaug synthesize` run killed with SIGKILL at random
times and with image files corrupted between kills, then resumed to the end, must equal an uninterrupted
run byte for byte, and the writer's peak memory must not grow with the number of images made.

Run: python bench/soak.py [--images 20000] [--kills 10] [--corrupt 2] [--seed 0] [--out /tmp/soak]

It trains a small embedded generator once (OUT/gen), makes the reference folder OUT/ref in one go, then
makes OUT/soak in pieces: the kill times are --kills points drawn uniformly over the reference run's time,
and each piece is killed once it has run --startup-s (imports, loading) plus the gap to its point, so the
kills spread over the whole set;
corrupted files are written over two random images, and the last run finishes the set. Peak RSS of every
run is read from /proc (Linux). Prints a table and writes OUT/soak.json. Not run in CI: it takes minutes."""
import argparse, hashlib, json, os, random, signal, subprocess, sys, time
from pathlib import Path

def synaug(*args):
    return [sys.executable, '-m', 'synaug_nb.cli', *map(str, args)]

def run_with_peak(cmd, kill_after=None):
    "Run `cmd`; SIGKILL it after `kill_after` seconds if given. Returns (exit code, peak RSS in MiB, seconds)."
    t0 = time.time(); p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); peak = 0
    while p.poll() is None:
        try: peak = max(peak, int(next(l for l in open(f'/proc/{p.pid}/status') if l.startswith('VmHWM:')).split()[1]) // 1024)
        except (OSError, StopIteration, ValueError): pass
        if kill_after is not None and time.time() - t0 > kill_after: p.send_signal(signal.SIGKILL); p.wait(); break
        time.sleep(0.2)
    err = p.stderr.read()
    if p.returncode not in (0, -signal.SIGKILL): raise SystemExit(f"run failed ({p.returncode}): {err}")
    return p.returncode, peak, time.time() - t0

def digest(folder):
    "sha1 of every image file (by its manifest-independent path) and the sorted manifest rows."
    folder = Path(folder); h = {}
    for f in sorted((folder/'images').rglob('*.png')): h[f.relative_to(folder).as_posix()] = hashlib.sha1(f.read_bytes()).hexdigest()
    rows = sorted(set(l for m in sorted(folder.glob('manifest-*.csv')) for l in m.read_text().splitlines()[1:]))
    return h, rows

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--images', type=int, default=20000); ap.add_argument('--kills', type=int, default=10)
    ap.add_argument('--corrupt', type=int, default=2); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--startup-s', type=float, default=3.5)
    ap.add_argument('--steps', type=int, default=6); ap.add_argument('--out', default='/tmp/soak')
    a = ap.parse_args(argv); out = Path(a.out); out.mkdir(parents=True, exist_ok=True); rng = random.Random(a.seed)
    common = ['--dataset', 'digits', '--imbalance-factor', '10', '--seed', '0', '--cpu', '--quiet']
    gen = out/'gen'
    if not (gen/'unet').is_dir():
        subprocess.run(synaug('train-generator', *common, '--train-steps', '200', '--train-batch-size', '64', '--out', gen), check=True)
    # a plan of about --images images: the digits LT10 set (364 real) filled up to a target per class
    target = max(91, round((a.images + 364) / 10))
    args = ['synthesize', *common, '--checkpoint', gen, '--target', target, '--num-inference-steps', a.steps, '--batch-size', 32]
    ref = out/'ref'
    rows = []
    if not (ref/'run.json').is_file() or len(digest(ref)[1]) < 10 * target - 364:
        rc, peak, s = run_with_peak(synaug(*args, '--out', ref)); rows.append(('reference', rc, peak, s))
        (out/'ref_seconds.json').write_text(json.dumps(s))
    ref_s = json.loads((out/'ref_seconds.json').read_text())
    points = sorted(rng.uniform(0, ref_s) for _ in range(a.kills)); gaps = [b - a_ for a_, b in zip([0.0] + points, points)]
    soak, corrupted = out/'soak', 0
    for k in range(a.kills):
        rc, peak, s = run_with_peak(synaug(*args, '--out', soak), kill_after=a.startup_s + gaps[k])
        rows.append((f'kill {k + 1} ({sum(1 for _ in (soak/"images").rglob("*.png")) if (soak/"images").is_dir() else 0} files)', rc, peak, s))
        if rc == 0: break   # finished before this kill came
        pngs = sorted((soak/'images').rglob('*.png'))
        if corrupted < a.corrupt and pngs:   # after the earliest kills that left images behind
            victim = rng.choice(pngs); data = victim.read_bytes()
            victim.write_bytes(data[:rng.randint(len(data) // 2, len(data) - 1)])   # a PNG cut short (PIL alone may still decode it)
            corrupted += 1; rows.append((f'corrupted {victim.name}', None, None, None))
    rc, peak, s = run_with_peak(synaug(*args, '--out', soak)); rows.append(('resume to the end', rc, peak, s))
    a_img, a_rows = digest(ref); b_img, b_rows = digest(soak)
    res = {'images': len(a_img), 'target_per_class': target, 'identical_images': a_img == b_img, 'identical_manifest': a_rows == b_rows,
           'runs': [{'run': r, 'exit': c, 'peak_rss_mib': p, 'seconds': None if t is None else round(t, 1)} for r, c, p, t in rows]}
    (out/'soak.json').write_text(json.dumps(res, indent=1))
    print(f"{'run':<28}{'exit':>6}{'peak MiB':>10}{'s':>8}")
    for r in res['runs']: print(f"{r['run']:<28}{'' if r['exit'] is None else r['exit']:>6}{'' if r['peak_rss_mib'] is None else r['peak_rss_mib']:>10}{'' if r['seconds'] is None else r['seconds']:>8}")
    print(f"{res['images']} images; identical to the uninterrupted run: images {res['identical_images']}, manifest {res['identical_manifest']}")
    return res

if __name__ == '__main__': main()
