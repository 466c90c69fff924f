"""Noise vs velocity prediction for the embedded generator: how many samples a classifier trained on real images
recognises as their class.

Run: python bench/prediction_check.py SPEC TAG   e.g.  fashion-mnist fmnist   or   folder:/tmp/synaug_folder_bench/data-300-30 folder

For each prediction type ('epsilon', 'v_prediction') it trains the generator for 500 steps (batch 64, the default
widths, seed 0) on the data's generator set (`load_data(...).holdout`; Fashion-MNIST long-tailed at factor 100, so
its balanced hold-out), samples 10 images per class (10 DDIM steps, guidance 2), and reports the share a small CNN
(300 steps on the generator set for Fashion-MNIST, on the training set for a folder) classifies as their class.
Grids go to GRIDS/pred_TAG_TYPE.png (`--grids`, default /tmp).
"""
import argparse, time
from pathlib import Path
import numpy as np, torch
from synaug_nb.specs import load_data
from synaug_nb.generators import PixelGenerator
from synaug_nb.pixel_diffusion import train_pixel_diffusion
from synaug_nb.models import small_cnn
from synaug_nb.train import Learner
from synaug_nb.core import set_seed

def main(spec:str, tag:str, grids='/tmp'):
    b = load_data(spec) if spec.startswith('folder') else load_data(spec, 'longtail', 100)
    tr, hold = b.train, b.holdout
    set_seed(0); judge = small_cnn(tr.n_classes, tr.images[0].shape[2], width=32)
    Learner(judge, tr if spec.startswith('folder') else hold, device='cpu').fit(300, progress=False)
    judge.eval()
    lab = np.repeat(np.arange(tr.n_classes), 10)
    for pt in ('epsilon', 'v_prediction'):
        t = time.time()
        m = train_pixel_diffusion(hold, steps=500, batch_size=64, prediction_type=pt, progress=False, device='cpu')
        tt = time.time() - t
        g = PixelGenerator(m, device='cpu').generate(lab, seeds=range(len(lab)), steps=10, guidance_scale=2.0)
        x = torch.as_tensor(np.asarray(g.images)).float()
        if x.max() > 1.5: x = x / 255
        if x.shape[-1] in (1, 3): x = x.permute(0, 3, 1, 2)
        with torch.no_grad(): acc = (judge(x).argmax(1).numpy() == lab).mean() * 100
        print(f"{tag} {pt}: generator {tt:.0f} s; real-trained judge recognises {acc:.1f}% of synthetic samples", flush=True)
        g.grid(ncol=10, scale=2).save(Path(grids)/f"pred_{tag}_{pt}.png")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('spec', help="a data spec: 'fashion-mnist' (long-tailed at factor 100; its balanced hold-out) or 'folder:PATH'")
    ap.add_argument('tag', help='a name for the printed lines and the grid files')
    ap.add_argument('--grids', default='/tmp', help='folder for the sample grids')
    a = ap.parse_args(); main(a.spec, a.tag, a.grids)
