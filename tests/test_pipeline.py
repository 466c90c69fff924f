"The data layer end to end: real files -> long tail / groups -> profile -> union with a synthetic set -> torch batches."
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from conftest import needs_fmnist
from synaug_nb.imbalance import make_long_tail, balanced_split, longtail_counts
from synaug_nb.loaders import load_fashion_mnist, load_image_folder
from synaug_nb.benchmarks import longtail_benchmark, group_benchmark
from synaug_nb.test_utils import write_image_folder

def _uniformize_with(train, pool):
    "Fill every class of `train` up to its largest from `pool`, flagged synthetic (a stand-in for generated images)."
    need = train.counts().max() - train.counts()
    idx = np.concatenate([np.flatnonzero(pool.labels == c)[:n] for c, n in enumerate(need)])
    syn = pool.subset(idx); syn.domain[:] = 1
    syn.meta = pd.DataFrame({'source_row': idx})
    return train + syn

def test_files_to_uniform_batches(tmp_path):
    root = write_image_folder(tmp_path/'f', classes=('a', 'b', 'c', 'd'), n_per_class=[12, 12, 12, 12])
    real = load_image_folder(root)
    held, rest = balanced_split(real, 2)
    lt = make_long_tail(rest, 5, n_max=10)
    assert lt.counts().tolist() == longtail_counts(10, 4, 5).tolist() == [10, 5, 3, 2]
    union = _uniformize_with(lt, held + rest.subset(np.arange(len(rest))))  # any pool with enough images
    assert union.counts().tolist() == [10] * 4
    assert union.profile().imbalance_factor == 1.0
    xb, yb = next(iter(DataLoader(union, batch_size=len(union))))       # a plain DataLoader gets (x, y), as torchvision's datasets give
    assert yb.tolist() == union.labels.tolist()
    _, _, gb, db = next(iter(DataLoader(union.with_items('x', 'y', 'group', 'domain'), batch_size=len(union))))
    assert xb.shape == (40, 3, 16, 16) and xb.dtype == torch.float32 and 0 <= xb.min() and xb.max() <= 1
    assert db.sum().item() == 40 - len(lt) and (gb == -1).all()
    assert union.meta['source_row'].notna().sum() == 40 - len(lt)

def test_group_benchmark_digits_colours_are_real():
    b = group_benchmark('spurious', 'digits', agreement=0.9)
    x = b.train.images.stack()
    assert x.shape[1:] == (8, 8, 3)
    corner = x[:, 0, 0].astype(int)              # digits' corners are background
    for g in range(b.train.n_groups):            # every group's background is its palette colour, distinct from the others
        m = b.train.groups == g
        assert np.ptp(corner[m], axis=0).max() <= 40
    assert len({tuple(corner[b.train.groups == g][0] // 40) for g in range(10)}) == 10

@needs_fmnist
def test_real_fashion_mnist_benchmarks():
    full = load_fashion_mnist()
    assert len(full) == 60_000 and full.counts().tolist() == [6000] * 10
    b = longtail_benchmark('fashion-mnist', 100, seed=3, class_order='random')
    assert sorted(b.train.counts().tolist(), reverse=True) == longtail_counts(500, 10, 100).tolist()
    assert b.train.counts().argmax() != 0 or b.train.counts()[1] != 299    # the random order moved the tail
    assert b.profile().splits == {k: sorted(v) for k, v in b.profile().splits.items()}
    sp = group_benchmark('spurious', seed=0)
    assert np.diag(sp.train.cell_counts()).tolist() == [475] * 10
    fa = group_benchmark('fairness', seed=0)
    assert fa.train.cell_counts().sum(0).tolist() == [3500, 1500]
    assert fa.test.cell_counts().min() >= 499
