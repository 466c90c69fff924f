"""Whom SYNAuG's Mixup should pair each image with: a partner from the other domain, or any image of the batch.

Run: python bench/mixup_partners.py --demo runs/spurious [--variants other_domain any anchor] [--train-seeds 0 1 2]

`--demo` is a finished `synaug demo` folder: its embedded generator and plain synthetic set are reused, so only the
classifiers train. For each variant and training seed, the rows that use Mixup are trained on the demo's uniformized
set as `run_demo` trains them (`synaug_mixup`, row c, and `synaug`, row e; `synaug_plain` once per seed as the
no-Mixup reference) and evaluated on the demo's test set. Variants:

- `other_domain`: every image paired with a partner from the other domain (real with synthetic);
- `any`: the partner is any other image of the batch (SYNAuG §4: Mixup "is applied regardless of the data type");
- `anchor`: other-domain partners, but each image keeps the larger share (λ ≥ ½). Not an option of the library: a check
  of the explanation that other-domain partners hurt because they replace the sampler's balanced draw by the
  imbalanced real images whenever λ is small.

A training seed equal to the demo's seed trains exactly the demo's network, so that row reproduces results.json.
Prints a table (mean ± sample std over training seeds) and writes OUT/mixup_partners.json."""
import argparse, json, time
from dataclasses import replace
from pathlib import Path
import numpy as np, torch
from _common import fmt_mean_std

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--demo', required=True, help='a finished synaug demo folder (its generator and synthetic/plain are reused)')
    ap.add_argument('--variants', nargs='+', default=['other_domain', 'any', 'anchor'], choices=['other_domain', 'any', 'anchor'])
    ap.add_argument('--train-seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--out', default=None, help='where mixup_partners.json goes (default: the demo folder)')
    a = ap.parse_args(argv)
    import synaug_nb.train as T
    from synaug_nb.recipes import DemoConfig, demo_benchmark, demo_plan, demo_generator, demo_synthetic, method_scores
    from synaug_nb.methods import MethodContext, get_method
    from synaug_nb.metrics import evaluate
    demo = Path(a.demo); out = Path(a.out or demo); out.mkdir(parents=True, exist_ok=True)
    cfg = DemoConfig.from_run(demo, methods=None, mixup_partners=DemoConfig.mixup_partners)   # each variant sets its partners below
    bench = demo_benchmark(cfg); plan = demo_plan(bench, cfg)
    syn = demo_synthetic(plan, demo_generator(bench, cfg, demo), cfg, demo, like=bench.train)   # both read back from the demo folder
    plain_mixup = T.mixup
    def anchored(x, y, domain, alpha=1.0, cross_domain=True, g=None):   # the library's mixup with λ folded to [½, 1]
        g = g or torch.Generator().manual_seed(0)
        lam = float(np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=g))).beta(alpha, alpha))
        lam = max(lam, 1 - lam); j = T._partners(domain, cross_domain, g)
        return lam * x + (1 - lam) * x[j], y, y[j], lam
    rows, keys = {}, (['worst_group', 'mean_group', 'dp', 'eo'] if cfg.task != 'longtail' else ['many', 'medium', 'few', 'all'])
    try:
        for v in ['plain'] + a.variants:
            T.mixup = anchored if v == 'anchor' else plain_mixup
            for ts in a.train_seeds:
                c = replace(cfg, seed=ts, mixup_partners='other_domain' if v in ('anchor', 'plain') else v)
                ctx = MethodContext(bench, c, provide=lambda k: syn)
                for m in ['synaug_plain'] if v == 'plain' else ['synaug_mixup', 'synaug']:
                    t = time.time(); model = get_method(m, cfg.task).train(ctx._for(m))
                    sc = method_scores(evaluate(model, bench.test, bench.train.counts(), many_above=bench.many_above, few_below=bench.few_below), cfg.task)
                    rows.setdefault(f'{v}/{m}', []).append(sc)
                    print(f"{v:<13} seed {ts}  {m:<13} " + '  '.join(f"{k} {sc[k]}" for k in keys) + f"  ({time.time() - t:.0f} s)", flush=True)
    finally: T.mixup = plain_mixup
    (out/'mixup_partners.json').write_text(json.dumps({'demo': str(demo), 'task': cfg.task, 'seed': cfg.seed, 'train_seeds': a.train_seeds, 'rows': rows}, indent=1))
    print(f"\n{cfg.task}, data seed {cfg.seed}, training seeds {a.train_seeds} (mean ± sample std)")
    print(f"{'partners / row':<28}" + ''.join(f"{k:>16}" for k in keys))
    for k, rs in rows.items():
        print(f"{k:<28}" + ''.join(fmt_mean_std([r[q] for r in rs], digits=1 if q not in ('dp', 'eo') else 3) for q in keys))

if __name__ == '__main__': main()
