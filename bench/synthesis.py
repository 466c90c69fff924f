"""Synthesis benchmark (CPU): throughput by batch size, the cost of feedback guidance, and peak memory vs plan size.

Run: python bench/synthesis.py [--out runs/bench-synthesis]
Every number is measured in this one run (ratios are what to compare: the machine is shared).
Peak memory is measured in a fresh subprocess per plan size (ru_maxrss)."""
import argparse, json, os, resource, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch

def _timed(fn, repeat=3):
    best = float('inf')
    for _ in range(repeat):
        t = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t)
    return best

def throughput(gen, n, batch, steps, prompts=None, feedback=None):
    "Images per second generating `n` images in batches of `batch`."
    def run():
        for i in range(0, n, batch):
            k = min(batch, n - i)
            gen.generate(np.arange(k) % 2, seeds=range(i, i + k), prompts=None if prompts is None else [prompts] * k,
                         steps=steps, feedback=feedback)
    return n / _timed(run)

def peak_memory_child(n_images, gen_dir, out_dir):
    "Run a plan of `n_images` in a fresh process; return its peak RSS (MiB) and seconds."
    code = f"""
import resource, time, numpy as np
from synaug_nb.data import ImageSet
from synaug_nb.plan import uniformize
from synaug_nb.generators import PixelGenerator
from synaug_nb.synthesize import synthesize
real = ImageSet(np.zeros((2, 8, 8), np.uint8), [0, 1], [str(i) for i in range(10)])
plan = uniformize(real, target={n_images // 10})
t = time.perf_counter()
synthesize(plan, PixelGenerator.from_pretrained({str(gen_dir)!r}, device='cpu'), {str(out_dir)!r}, steps=4, batch_size=64, progress=False)
print(plan.total, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    total, secs, mib = r.stdout.split()
    return int(total), float(secs), float(mib)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default='runs/bench-synthesis'); ap.add_argument('--quick', action='store_true')
    a = ap.parse_args(); out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1)); torch.manual_seed(0)
    from synaug_nb.loaders import load_digits
    from synaug_nb.imbalance import balanced_split
    from synaug_nb.generators import PixelGenerator
    from synaug_nb.pixel_diffusion import train_pixel_diffusion
    from synaug_nb.feedback import Feedback
    from synaug_nb.train import train_judge
    from synaug_nb.tiny import tiny_sd_pipeline, tiny_unclip_pipeline
    from synaug_nb.diffusers_backends import SDGenerator, UnCLIPGenerator
    res = {'machine': {'cpus': os.cpu_count(), 'torch_threads': torch.get_num_threads(), 'torch': torch.__version__}}

    held, rest = balanced_split(load_digits(), 60, seed=0)
    t = time.perf_counter()
    pm = train_pixel_diffusion(held, steps=100 if a.quick else 300, batch_size=64, size=8, widths=(32, 64), progress=False, device='cpu')
    res['embedded_train_seconds'] = round(time.perf_counter() - t, 2)
    gdir = out/'generator'; pm.save_pretrained(gdir)
    pix = PixelGenerator(pm, device='cpu')
    judge = train_judge(rest, steps=100)
    sd = SDGenerator(tiny_sd_pipeline(seed=0), device='cpu')
    real = rest.subset(np.flatnonzero(rest.labels < 2)[:20])
    from synaug_nb.core import to_pil
    uc = UnCLIPGenerator(tiny_unclip_pipeline(seed=0), real, device='cpu')

    n, steps = (32, 10) if a.quick else (64, 25)
    rows = {}
    for name, gen, prompt in (('embedded', pix, None), ('tiny-sd', sd, 'a photo of a cat'), ('tiny-unclip', uc, 'a photo of a cat')):
        nn_ = n if name == 'embedded' else n // 4
        b1 = throughput(gen, nn_, 1, steps, prompt); b16 = throughput(gen, nn_, 16, steps, prompt)
        plain = throughput(gen, nn_, 16, steps, prompt)
        fb = throughput(gen, nn_, 16, steps, prompt, Feedback(judge, 'entropy', scale=0.05, every=5))
        rows[name] = {'img_per_s_batch1': round(b1, 2), 'img_per_s_batch16': round(b16, 2), 'batch16_speedup': round(b16 / b1, 2),
                      'feedback_every5_cost': round(plain / fb, 3)}
    res['throughput'] = rows; res['steps'] = steps

    mem = {}
    for k in ((1000, 3000) if a.quick else (1000, 10000)):
        with tempfile.TemporaryDirectory() as d:
            total, secs, mib = peak_memory_child(k, gdir, Path(d)/'syn')
            mem[str(k)] = {'images': total, 'seconds': round(secs, 1), 'peak_rss_mib': round(mib, 1)}
    res['peak_memory'] = mem
    ks = sorted(mem, key=int); res['peak_memory_ratio_large_vs_small'] = round(mem[ks[-1]]['peak_rss_mib'] / mem[ks[0]]['peak_rss_mib'], 3)
    (out/'results.json').write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
