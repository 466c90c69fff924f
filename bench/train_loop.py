"""Training-loop overhead: synaug_nb's Learner against a minimal hand-written PyTorch loop, same model, data, batches and optimizer.

Run: python bench/train_loop.py [--steps 300]
Both loops draw the same batch indices, apply the same augmentation, use SGD + one-cycle and the same
weight memory format (channels-last, as the Learner's default; --contiguous for NCHW); the
Learner adds sampling, the callback dispatch (eight events a step), the NaN check and history bookkeeping. Timings
alternate the two loops --repeats times and compare each one's best (the machine is shared); the
median of the paired ratios is printed too."""
import argparse, json, time
import numpy as np
import torch
import torch.nn.functional as F

def main():
    ap = argparse.ArgumentParser(); ap.add_argument('--steps', type=int, default=300); ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--repeats', type=int, default=7, help='alternating runs of each loop; the best of each is compared')
    ap.add_argument('--contiguous', action='store_true', help='both loops on NCHW-contiguous weights (the Learner defaults to channels-last)')
    a = ap.parse_args()
    from synaug_nb.benchmarks import longtail_benchmark
    from synaug_nb.specs import resolve_auto
    from synaug_nb.models import small_cnn
    from synaug_nb.train import Learner
    from synaug_nb.batches import BatchSampler, shift_flip
    bench = longtail_benchmark(resolve_auto(), 100, seed=0)
    train = bench.train; C = train.n_classes; ch = train.images[0].shape[2]

    def learner_run():
        torch.manual_seed(0); m = small_cnn(C, ch)
        t = time.perf_counter(); Learner(m, train, batch_size=a.batch_size, device='cpu', seed=0, channels_last=not a.contiguous).fit(a.steps, progress=False)
        return time.perf_counter() - t

    def plain_run():
        torch.manual_seed(0); m = small_cnn(C, ch)
        if not a.contiguous: m = m.to(memory_format=torch.channels_last)
        X = torch.from_numpy(train.images.stack()).permute(0, 3, 1, 2).float().div(255); Y = torch.from_numpy(train.labels)
        opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
        sch = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=a.steps, pct_start=0.25)
        sampler, aug, g = BatchSampler(train, a.batch_size, seed=0), shift_flip(), torch.Generator().manual_seed(0)
        t = time.perf_counter(); m.train()
        for _ in range(a.steps):
            idx = sampler(); x, y = aug(X[idx], g), Y[idx]
            loss = F.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step(); sch.step()
        return time.perf_counter() - t

    times = {'learner': [], 'plain': []}
    for _ in range(a.repeats): times['learner'].append(learner_run()); times['plain'].append(plain_run())
    best = {k: min(v) for k, v in times.items()}
    steps_per_epoch = max(1, len(train) // a.batch_size)
    res = {'dataset': bench.name, 'train_images': len(train), 'steps': a.steps, 'batch_size': a.batch_size,
           'seconds_best': {k: round(v, 3) for k, v in best.items()},
           'seconds_per_epoch': {k: round(v / a.steps * steps_per_epoch, 4) for k, v in best.items()},
           'learner_over_plain': round(best['learner'] / best['plain'], 3),
           'median_of_paired_ratios': round(float(np.median(np.array(times['learner']) / np.array(times['plain']))), 3), 'threads': torch.get_num_threads(),
           'memory_format': 'contiguous' if a.contiguous else 'channels_last'}
    print(json.dumps(res, indent=2))

if __name__ == '__main__': main()
