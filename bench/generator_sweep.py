"""Which of diffusers' training and sampling options make the embedded generator's images harder to tell from real ones.

Run: python bench/generator_sweep.py [--seed 0] [--per-class 50] [--out runs/gsweep] [--train base min_snr ...] [--sample ddim10 dpm10 ...]

On the demo's benchmark (Fashion-MNIST-LT100, DemoConfig(seed)), every generator variant trains on the balanced hold-out and makes
`per_class` images per class from the same seeds. Each set is measured on the features of the demo's `oracle` classifier (balanced
real images, the features the demo's domain probe uses) against as many real *test* images per class (seen by neither the generator
nor the oracle):
  probe     held-out accuracy of a linear real-vs-synthetic classifier (gap.domain_probe; 50% = no gap), the issue's goal <= 90%
  fid       Fréchet distance of the two feature sets (fidelity.fid; lower is closer)
  density / coverage   (fidelity.density_coverage; Naeem et al. 2020)
  oracle_acc  the oracle's accuracy on the synthetic images (are they recognisably their class?)
Training variants (`--train`) are sampled with `--train-sampler` (default: the demo's, DDIM, 10 steps, guidance 2); sampling
variants (`--sample`) re-sample the `base` generator. Trained generators are kept in OUT/gen-<name> and reused. Writes OUT/sweep.json and prints a table.
"""
import argparse, json, time
from pathlib import Path
import numpy as np, torch

TRAIN = {   # name -> train_pixel_diffusion keyword arguments beyond the demo's (500 steps, batch 64, widths 16/32/64, v-prediction, EMA 0.995)
    'base': {},
    'min_snr': dict(snr_gamma=5.0),
    'ema999': dict(ema_decay=0.999),
    'epsilon': dict(prediction_type='epsilon'),
    'wide': dict(widths=(32, 64, 128)),
    'steps1500': dict(steps=1500),
    'steps1500_min_snr': dict(steps=1500, snr_gamma=5.0),
    'steps3000': dict(steps=3000),
}
SAMPLE = {  # name -> (scheduler class name in diffusers, steps, guidance scale, scheduler config overrides)
    'ddim10': ('DDIMScheduler', 10, 2.0, {}), 'ddim25': ('DDIMScheduler', 25, 2.0, {}), 'ddim50': ('DDIMScheduler', 50, 2.0, {}),
    'ddim10_trailing': ('DDIMScheduler', 10, 2.0, dict(timestep_spacing='trailing')),   # the first step at t = T-1, not T - T/steps
    'ddim25_trailing': ('DDIMScheduler', 25, 2.0, dict(timestep_spacing='trailing')),
    'ddim10_noclip': ('DDIMScheduler', 10, 2.0, dict(clip_sample=False)),
    'ddim10_trailing_noclip': ('DDIMScheduler', 10, 2.0, dict(timestep_spacing='trailing', clip_sample=False)),
    'ddim25_trailing_noclip': ('DDIMScheduler', 25, 2.0, dict(timestep_spacing='trailing', clip_sample=False)),
    'dpm10': ('DPMSolverMultistepScheduler', 10, 2.0, {}), 'dpm20': ('DPMSolverMultistepScheduler', 20, 2.0, {}),   # from DDIM's config: 'leading' spacing
    'dpm10_trailing': ('DPMSolverMultistepScheduler', 10, 2.0, dict(timestep_spacing='trailing')),
    'dpm5_trailing': ('DPMSolverMultistepScheduler', 5, 2.0, dict(timestep_spacing='trailing')),
    'dpm20_trailing': ('DPMSolverMultistepScheduler', 20, 2.0, dict(timestep_spacing='trailing')),
    'dpm10_trailing_g1': ('DPMSolverMultistepScheduler', 10, 1.0, dict(timestep_spacing='trailing')),
    'dpm10_trailing_g3': ('DPMSolverMultistepScheduler', 10, 3.0, dict(timestep_spacing='trailing')),
    'unipc10': ('UniPCMultistepScheduler', 10, 2.0, {}),
    'unipc10_trailing': ('UniPCMultistepScheduler', 10, 2.0, dict(timestep_spacing='trailing')),
    'ddim10_g1': ('DDIMScheduler', 10, 1.0, {}), 'ddim10_g3': ('DDIMScheduler', 10, 3.0, {}),
    'dpm10_g1': ('DPMSolverMultistepScheduler', 10, 1.0, {}), 'dpm10_g3': ('DPMSolverMultistepScheduler', 10, 3.0, {}),
}

def sample(gen, classes:int, per_class:int, sampler:str, steps:int, guidance:float, over:dict|None=None, batch:int=100):
    "`per_class` images of each class from seeds 10,000.., with `sampler` swapped in for this call; returns (uint8 images, labels, seconds)."
    import diffusers
    keep = gen.scheduler
    gen.scheduler = getattr(diffusers, sampler).from_config(keep.config, **(over or {}))
    labels = np.repeat(np.arange(classes), per_class); seeds = np.arange(len(labels)) + 10_000
    t0, out = time.time(), []
    try:
        for i in range(0, len(labels), batch):
            out.append(gen.generate(labels[i:i + batch], seeds[i:i + batch], steps=steps, guidance_scale=guidance).images)
    finally: gen.scheduler = keep
    x = (torch.cat(out).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return x, labels, time.time() - t0

def measure(oracle, real, x, labels, seed:int) -> dict:
    from synaug_nb.data import ImageSet, concat_sets
    from synaug_nb.gap import extract_features, domain_probe
    from synaug_nb.fidelity import fid, density_coverage
    syn = ImageSet(x if x.shape[-1] > 1 else x[..., 0], labels, real.classes, domain='synthetic', name='synthetic')
    feats, lab, dom = extract_features(oracle, concat_sets([real, syn]))
    probe = domain_probe(feats, dom, lab, seed=seed, per_class=False)
    with torch.no_grad(): pred = oracle(syn.images.tensor()).argmax(1).numpy()
    dc = density_coverage(feats[dom == 0], feats[dom == 1])
    return {'probe': round(float(probe.accuracy), 2), 'fid': round(fid(feats[dom == 0], feats[dom == 1]), 2),
            'density': round(dc['density'], 3), 'coverage': round(dc['coverage'], 3), 'oracle_acc': round(100 * float((pred == labels).mean()), 1)}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--per-class', type=int, default=50)
    ap.add_argument('--train', nargs='+', default=['base', 'min_snr', 'ema999', 'wide', 'steps1500'], choices=list(TRAIN))
    ap.add_argument('--sample', nargs='+', default=['ddim10', 'ddim25', 'ddim50', 'ddim10_trailing', 'dpm10', 'dpm20', 'dpm10_trailing', 'unipc10',
                                                    'ddim10_g1', 'ddim10_g3', 'dpm10_g1', 'dpm10_g3'], choices=list(SAMPLE))
    ap.add_argument('--train-sampler', default='ddim10', choices=list(SAMPLE), help='how the training variants are sampled')
    ap.add_argument('--base', default=None, help="a saved generator folder to use as 'base' (e.g. a demo run's OUT/generator trained with the defaults)")
    ap.add_argument('--out', default='runs/gsweep')
    a = ap.parse_args(argv)
    from synaug_nb.recipes import DemoConfig, demo_benchmark
    from synaug_nb.methods import train_method
    from synaug_nb.imbalance import balanced_split
    from synaug_nb.generators import PixelGenerator
    from synaug_nb.pixel_diffusion import PixelDiffusion, train_pixel_diffusion
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    cfg = DemoConfig(seed=a.seed); bench = demo_benchmark(cfg)
    t0 = time.time(); oracle = train_method('oracle', bench, cfg).eval()
    print(f"oracle trained in {time.time() - t0:.0f} s", flush=True)
    real = balanced_split(bench.test, a.per_class, seed=a.seed)[0]
    rows, res_file = [], out/'sweep.json'
    done = json.loads(res_file.read_text()) if res_file.is_file() else {}
    def record(kind, name, gen_name, sch, steps, g, train_s, over=None):
        key = f'{kind}:{name}'
        if key in done and done[key].get('per_class') == a.per_class: rows.append(done[key]); print('reused', key); return
        x, lab, s = sample(gens[gen_name], len(bench.train.classes), a.per_class, sch, steps, g, over)
        r = {'kind': kind, 'name': name, 'generator': gen_name, 'sampler': sch, 'steps': steps, 'guidance': g, 'over': over or {}, 'per_class': a.per_class,
             'train_s': train_s, 'sample_s': round(s, 1), **measure(oracle, real, x, lab, a.seed)}
        rows.append(r); done[key] = r; res_file.write_text(json.dumps(done, indent=1))
        print(json.dumps(r), flush=True)
    gens, train_s = {}, {}
    names = list(dict.fromkeys(['base', *a.train]))
    for n in names:
        folder = out/f'gen-{n}'
        if n == 'base' and a.base: folder = Path(a.base)
        if (folder/'synaug_config.json').is_file(): gens[n] = PixelGenerator(PixelDiffusion.from_pretrained(folder), device='cpu'); train_s[n] = None
        else:
            kw = dict(steps=cfg.gen_steps, batch_size=cfg.gen_batch_size, widths=cfg.gen_widths, seed=cfg.seed, progress=False, device='cpu') | TRAIN[n]
            t = time.time(); m = train_pixel_diffusion(bench.holdout, **kw); train_s[n] = round(time.time() - t, 1)
            m.save_pretrained(folder); gens[n] = PixelGenerator(m, device='cpu')
            print(f"trained {n} in {train_s[n]} s", flush=True)
        if n in a.train: sch, steps, g, over = SAMPLE[a.train_sampler]; record('train', f'{n}@{a.train_sampler}', n, sch, steps, g, train_s[n], over)
    for n in a.sample:
        sch, steps, g, over = SAMPLE[n]; record('sample', n, 'base', sch, steps, g, None, over)
    print(f"\nseed {a.seed}, {a.per_class} synthetic vs {a.per_class} real test images per class, oracle features\n")
    print('| variant | generator | sampler | steps | guidance | probe % | FID | density | coverage | oracle acc % | train s | sample s |')
    print('|---' * 12 + '|')
    for r in rows:
        print(f"| {r['kind']}:{r['name']} | {r['generator']} | {r['sampler'].replace('Scheduler', '')}{' ' + str(r.get('over') or '') if r.get('over') else ''} | {r['steps']} | {r['guidance']:g} | {r['probe']:.1f} | "
              f"{r['fid']:.2f} | {r['density']:.2f} | {r['coverage']:.2f} | {r['oracle_acc']:.1f} | {r['train_s'] or '-'} | {r['sample_s']} |")

if __name__ == '__main__': main()
