"""The natural-photo benchmark (issue 26): `synaug run` at its defaults on a long-tailed folder of real photos, over
seeds, with the quality gate and the synthesis speed of the old and new defaults measured side by side.

Run: python bench/photos.py [--data ../shared/data/cifar10-lt-dev] [--seeds 0 1 2] [--out /tmp/photos] [--set KEY=VALUE ...] | tee /tmp/photos.txt

For each seed, in OUT/seed<k>:
1. `run_demo` at `synaug run`'s defaults on `folder:DATA` with the generator trained on `DATA/holdout`
   (`--generator-data folder:DATA/holdout`), rows ce, balanced_softmax, ce_finetune, synaug_plain, synaug, ldm
   (a finished run with the same settings is reused);
2. with that run's generator (cached in OUT/seed<k>/generator), `run_demo` again with `synth_start='noise'`, the
   default before natural photos started from real images: the gate must stop it, and the script times it from the
   moment the (cached) generator is loaded;
3. in one process, the gate's sample drawn by both defaults in turn (noise, real, noise, real), with the same judge and
   the same plan: images per second and the share the judge recognises, so the speed ratio is measured under one load.
Prints a markdown table (mean ± sample std over the seeds), the goals, and writes OUT/summary.json.
"""
import argparse, json, math, sys, time
from pathlib import Path
from _common import mean_std, fmt_mean_std

METHODS = ('ce', 'balanced_softmax', 'ce_finetune', 'synaug_plain', 'synaug', 'ldm')
DATA = Path(__file__).resolve().parents[2]/'shared'/'data'/'cifar10-lt-dev'

def _cfg(data, seed, **kw):
    from synaug_nb.recipes import DemoConfig
    return DemoConfig(dataset=f'folder:{data}', generator_data=f'folder:{data}/holdout', seed=seed, methods=METHODS, **kw)

def one_seed(data:Path, seed:int, out:Path, settings:dict) -> dict:
    "The three measurements of one seed (see the module's docstring)."
    from synaug_nb.recipes import run_demo, demo_benchmark, demo_plan, demo_generator, synthesis_start
    from synaug_nb.gate import GateStop, gate_data, fit_judge, run_gate
    from synaug_nb.generators import Img2ImgGenerator
    cfg = _cfg(data, seed, **settings); f = out/'results.json'
    if f.is_file() and json.loads(f.read_text())['config'] == cfg.to_dict(): res = json.loads(f.read_text()); print(f"seed {seed}: reusing {f}")
    else: t = time.time(); res = run_demo(cfg, out); print(f"seed {seed}: run took {time.time() - t:.0f} s")
    # 2. the old default, stopped by the gate
    old = out/'noise-start'; old.mkdir(exist_ok=True)
    if not (old/'generator').exists(): (old/'generator').symlink_to((out/'generator').resolve(), target_is_directory=True)
    t0 = time.time(); stop = None
    try: run_demo(_cfg(data, seed, **settings, synth_start='noise'), old, quiet=True)
    except GateStop as e: stop = e.result
    stop_s = time.time() - t0
    # 3. both defaults' gate samples, side by side
    bench = demo_benchmark(cfg); plan = demo_plan(bench, cfg); gen = demo_generator(bench, cfg, out)
    on, held, _ = gate_data(bench, seed)
    judge = fit_judge(on, cfg.train_steps, cfg.model, cfg.batch_size, cfg.lr, seed)
    real = Img2ImgGenerator(gen, bench.train, cfg.start_strength)
    side = {'noise': [], 'real': []}
    for name in ('noise', 'real', 'noise', 'real'):
        r = run_gate(gen if name == 'noise' else real, plan, bench.train, judge, held, 50, cfg.ddim_steps, cfg.guidance_scale, cfg.synth_batch_size, seed=seed)
        side[name].append((r.rate, r.recognised, r.probe))
    mean = lambda k, i: sum(x[i] for x in side[k]) / len(side[k])
    return {'seed': seed, 'methods': res['methods'], 'probe': res['domain_probe_accuracy'], 'gate': res.get('gate'),
            'start': res.get('synthesis_start'), 'seconds': res['seconds'], 'stage_seconds': res['stage_seconds'],
            'old_default_stopped': stop is not None, 'old_default_gate': None if stop is None else stop.to_dict(), 'old_default_stop_seconds': round(stop_s, 1),
            'rate_noise': mean('noise', 0), 'rate_real': mean('real', 0), 'recognised_noise': mean('noise', 1), 'recognised_real': mean('real', 1),
            'probe_noise_sample': mean('noise', 2), 'probe_real_sample': mean('real', 2)}

def report(runs:list) -> list[str]:
    "The table and the goals, as markdown lines."
    lines = ['| method | Many | Medium | Few | All |', '|---|---|---|---|---|']
    for m in METHODS:
        lines.append(f"| `{m}` | " + ' | '.join(fmt_mean_std([r['methods'][m][s] for r in runs], 4).strip() for s in ('many', 'medium', 'few', 'all')) + ' |')
    mv = lambda m, s: mean_std([r['methods'][m][s] for r in runs])[0]
    ms = lambda k: mean_std([r[k] for r in runs])
    lines += ['', f"domain probe {fmt_mean_std([r['probe'] for r in runs], 1).strip()}%; "
              f"gate: recognised {fmt_mean_std([r['gate']['recognised'] for r in runs], 1).strip()}% vs real held-out "
              f"{fmt_mean_std([r['gate']['real_accuracy'] for r in runs], 1).strip()}% (verdicts {[r['gate']['verdict'] for r in runs]}); "
              f"run {fmt_mean_std([r['seconds'] for r in runs], 1).strip()} s",
              f"old default (from noise): stopped by the gate in {sum(r['old_default_stopped'] for r in runs)} of {len(runs)} runs, "
              f"{fmt_mean_std([r['old_default_stop_seconds'] for r in runs], 1).strip()} s after the generator was loaded; "
              f"its sample recognised {fmt_mean_std([r['recognised_noise'] for r in runs], 1).strip()}%",
              f"synthesis: {ms('rate_real')[0]:.1f} images/s from real images vs {ms('rate_noise')[0]:.1f} from noise "
              f"({ms('rate_real')[0] / ms('rate_noise')[0]:.2f}x, side by side), recognised {ms('recognised_real')[0]:.1f}% vs {ms('recognised_noise')[0]:.1f}%", '']
    goal = lambda ok: 'met' if ok else 'NOT met'
    d_bs, d_ft = mv('synaug', 'all') - mv('balanced_softmax', 'all'), mv('synaug', 'all') - mv('ce_finetune', 'all')
    d_few = mv('synaug', 'few') - mv('balanced_softmax', 'few')
    lines += [f"- synaug >= balanced_softmax + 5 on All: {d_bs:+.1f} ({goal(d_bs >= 5)})",
              f"- synaug >= ce_finetune + 5 on All: {d_ft:+.1f} ({goal(d_ft >= 5)})",
              f"- synaug Few >= balanced_softmax Few + 10: {d_few:+.1f} ({goal(d_few >= 10)})",
              f"- domain probe <= 90%: {ms('probe')[0]:.1f}% ({goal(ms('probe')[0] <= 90)})",
              f"- the gate passes the new default: {goal(all(r['gate']['verdict'] == 'pass' for r in runs))}; stops the old one within 2 minutes of its generator: "
              f"{goal(all(r['old_default_stopped'] and r['old_default_stop_seconds'] <= 120 for r in runs))}",
              f"- synthesis >= 3x the old images/s at equal or better recognition: {ms('rate_real')[0] / ms('rate_noise')[0]:.2f}x "
              f"({goal(ms('rate_real')[0] >= 3 * ms('rate_noise')[0] and ms('recognised_real')[0] >= ms('recognised_noise')[0])})"]
    return lines

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=str(DATA), help='a photo folder with train/, test/ and holdout/ (default: ../shared/data/cifar10-lt-dev)')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    ap.add_argument('--out', default='/tmp/photos')
    ap.add_argument('--set', nargs='*', default=[], metavar='KEY=VALUE', help='DemoConfig settings for every run (JSON values), e.g. start_strength=0.15')
    a = ap.parse_args(argv)
    data = Path(a.data)
    if not (data/'holdout').is_dir(): sys.exit(f"photos.py: no holdout/ in '{data}'; pass --data a folder with train/, test/ and holdout/")
    settings = {k: json.loads(v) if v[:1] in '0123456789-[{tfn"' else v for k, v in (s.split('=', 1) for s in a.set)}
    runs = []
    for seed in a.seeds:
        runs.append(one_seed(data, seed, Path(a.out)/f'seed{seed}', settings))
        print(json.dumps({k: v for k, v in runs[-1].items() if k not in ('methods', 'gate', 'old_default_gate', 'stage_seconds')}), flush=True)
    lines = report(runs); print('\n'.join(lines))
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out)/'summary.json').write_text(json.dumps({'runs': runs, 'report': lines}, indent=1))

if __name__ == '__main__': main()
