"Domain gap: the probe on Gaussian features with a known answer, per-class probes, balancing, errors, feature extraction, the UMAP path, replacement sets and curves."
import json
import numpy as np
import pytest
import torch
import torch.nn as nn
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.models import build_model
from synaug_nb.gap import (extract_features, domain_probe, ProbeResult, embed_2d, gap_scatter, replacement_set,
                           replacement_curve, plot_replacement)

def gaussian(shift=0.0, n_real=250, n_syn=250, D=12, n_classes=3, seed=0, shift_classes=None):
    "Per class `n_real` real and `n_syn` synthetic features; class c centred at 3c in every dimension; synthetic ones of `shift_classes` (default all) shifted by `shift` along (+1, -1, +1, ...)."
    r = np.random.default_rng(seed)
    y = np.r_[np.repeat(np.arange(n_classes), n_real), np.repeat(np.arange(n_classes), n_syn)]
    dom = np.r_[np.zeros(n_real * n_classes, int), np.ones(n_syn * n_classes, int)]
    x = r.normal(size=(len(y), D)) + 3 * y[:, None]
    moved = (dom == 1) & (np.isin(y, shift_classes) if shift_classes is not None else True)
    x[moved] += shift * (-1) ** np.arange(D)
    return x, dom, y

# --- the probe ----------------------------------------------------------------------------------
@pytest.mark.parametrize('seed', range(5))
def test_probe_near_chance_when_domains_share_a_distribution(seed):
    p = domain_probe(*gaussian(seed=seed), seed=seed)
    assert p.chance == 50 and abs(p.accuracy - 50) < 4 * p.chance_sd
    assert p.chance_sd == pytest.approx(100 * 0.5 / np.sqrt(p.n_test))

def test_probe_mean_over_seeds_is_fifty():
    accs = [domain_probe(*gaussian(seed=s), seed=s, per_class=False).accuracy for s in range(12)]
    assert abs(np.mean(accs) - 50) < 3.5

@pytest.mark.parametrize('seed', range(3))
def test_probe_near_perfect_when_synthetic_is_shifted(seed):
    p = domain_probe(*gaussian(1.5, seed=seed), seed=seed)              # the domains 5.2 sd apart: Bayes accuracy 99.5%
    assert p.accuracy > 95 and p.above_chance > 45
    assert (p.per_class.accuracy > 90).all()

def test_per_class_probes_find_the_one_shifted_class():
    x, d, y = gaussian(1.5, shift_classes=[2])
    p = domain_probe(x, d, y, classes=['a', 'b', 'c'])
    assert list(p.per_class.columns) == ['class', 'accuracy', 'chance', 'n_real', 'n_synthetic', 'n_test']
    assert p.per_class['class'].tolist() == ['a', 'b', 'c']
    assert p.per_class.n_real.tolist() == [250] * 3 and p.per_class.n_test.tolist() == [150] * 3
    assert p.per_class.accuracy[2] > 90 and (p.per_class.accuracy[:2] - 50).abs().max() < 15
    assert p.per_class.accuracy[:2].max() < p.accuracy < p.per_class.accuracy[2]

def test_no_per_class_without_labels_or_when_off():
    x, d, y = gaussian()
    assert domain_probe(x, d).per_class is None
    assert domain_probe(x, d, y, per_class=False).per_class is None

def test_balancing_per_class_and_chance_level():
    x, d, y = gaussian(n_real=300, n_syn=100)
    p = domain_probe(x, d, y)
    assert (p.n_real, p.n_synthetic, p.available, p.balanced, p.chance) == (300, 300, (900, 300), 'per class', 50.0)
    assert p.per_class.n_real.tolist() == [100] * 3 and p.per_class.n_synthetic.tolist() == [100] * 3
    ub = domain_probe(x, d, y, balance=False)
    assert (ub.n_real, ub.n_synthetic, ub.balanced, ub.chance) == (900, 300, 'no', 75.0)
    assert ub.n_test == 270 + 90                                    # 30% of each class × domain
    assert (domain_probe(x, d).n_real, domain_probe(x, d).balanced) == (300, 'overall')

def test_class_of_one_domain_is_skipped_when_balancing():
    x, d, y = gaussian()
    keep = ~((y == 1) & (d == 1))                                   # class 1 has no synthetic feature
    p = domain_probe(x[keep], d[keep], y[keep], classes=['a', 'b', 'c'])
    assert p.skipped == ['b'] and p.per_class['class'].tolist() == ['a', 'c']
    q = domain_probe(x[keep], d[keep], y[keep], balance=False)
    assert q.skipped == [] and np.isnan(q.per_class.accuracy[1]) and q.per_class.chance[1] == 100

def test_probe_is_deterministic_and_serialises():
    x, d, y = gaussian(0.5)
    a, b = domain_probe(x, d, y, seed=3), domain_probe(x, d, y, seed=3)
    assert a.to_dict() == b.to_dict()
    assert domain_probe(torch.from_numpy(x), torch.from_numpy(d), list(y), seed=3).to_dict() == a.to_dict()
    d_ = json.loads(json.dumps(a.to_dict()))
    assert set(d_) >= {'accuracy', 'chance', 'chance_sd', 'above_chance', 'n_real', 'n_synthetic', 'per_class'}
    assert set(d_['per_class']) == {'0', '1', '2'}
    md = a._repr_markdown_()
    assert md.startswith('**Domain probe: ') and '| class | accuracy | chance | real | synthetic | held out |' in md
    assert isinstance(a, ProbeResult)

def test_nan_per_class_serialises_as_none():
    x, d, y = gaussian()
    keep = ~((y == 1) & (d == 1))
    js = json.dumps(domain_probe(x[keep], d[keep], y[keep], balance=False).to_dict())
    assert '"accuracy": null' in js

@pytest.mark.parametrize('call,pattern', [
    (lambda x, d, y: domain_probe(x[d == 0], d[d == 0], y[d == 0]), r'domain holds only real \(0\) samples \(750 of them\)'),
    (lambda x, d, y: domain_probe(x[d == 1], d[d == 1]), r'domain holds only synthetic \(1\) samples'),
    (lambda x, d, y: domain_probe(x[:759], d[:759], y[:759]),
     r'too few samples to probe the domain gap: 9 real and 9 synthetic after balancing per class \(given 750 real, 9 synthetic\); need at least 10 of each'),
    (lambda x, d, y: domain_probe(x[:759], d[:759], balance=False), r'9 synthetic \(given 750 real, 9 synthetic\); need at least 10'),
    (lambda x, d, y: domain_probe(x, d[:10], y), 'domain has 10 entries but feats has 1500 rows'),
    (lambda x, d, y: domain_probe(x, d, y[:-1]), 'labels has 1499 entries but feats has 1500 rows'),
    (lambda x, d, y: domain_probe(x, d * 3, y), r'domain must be 0 \(real\) or 1 \(synthetic\); got 3 at position 750'),
    (lambda x, d, y: domain_probe(x, d, y + 0.5), 'labels must hold integers'),
    (lambda x, d, y: domain_probe(x, d, y, test_size=0), 'test_size must be a number in \\(0, 1\\); got 0'),
    (lambda x, d, y: domain_probe(x, d, y, C=0), 'C must be a finite number > 0'),
    (lambda x, d, y: domain_probe(x[:, 0], d), r'feats must be an \(N, D\) array'),
    (lambda x, d, y: domain_probe(np.where(np.arange(1500)[:, None] == 7, np.nan, x), d), 'NaN or infinite values \\(first at row 7\\)'),
    (lambda x, d, y: domain_probe(x, d, y, classes=['a', 'b']), 'label 2 at position 500 is out of range for 2 class names'),
])
def test_probe_bad_input(call, pattern):
    with pytest.raises(DataError, match=pattern): call(*gaussian())

# --- features -----------------------------------------------------------------------------------
def tiny_set(n=24, domain='real', seed=0):
    r = np.random.default_rng(seed)
    return ImageSet(r.integers(0, 256, (n, 8, 8), dtype=np.uint8), np.arange(n) % 3, ['a', 'b', 'c'], domain=domain, name=domain)

def test_extract_features_three_ways_agree_and_modes_are_restored():
    torch.manual_seed(0)
    net = build_model('small_cnn', 3, 1, width=4)
    ds = tiny_set() + tiny_set(10, 'synthetic', 1)
    f1, y, d = extract_features(net, ds, batch_size=5)
    f2, _, _ = extract_features(nn.Sequential(net.features, net.head), ds)
    f3, _, _ = extract_features(lambda x: net.eval().features(x).numpy(), ds, batch_size=7)
    assert f1.shape == (34, 128) and f1.dtype == np.float32
    np.testing.assert_allclose(f1, f2, atol=1e-5); np.testing.assert_allclose(f1, f3, atol=1e-5)
    assert y.tolist() == ds.labels.tolist() and d.tolist() == [0] * 24 + [1] * 10
    net.train()
    extract_features(net, ds); assert net.training
    seq = nn.Sequential(nn.Flatten(), nn.Linear(64, 6), nn.ReLU(), nn.Linear(6, 3)).eval()
    fs, _, _ = extract_features(seq, ds)
    assert fs.shape == (34, 6) and (fs >= 0).all() and not seq.training    # the input of the last Linear, after the ReLU
    assert not seq[3]._forward_pre_hooks                                     # the hook is removed

def test_extract_features_transform_and_errors():
    ds = tiny_set()
    f, _, _ = extract_features(lambda x: x.flatten(1), ds, transform=lambda im: torch.zeros(1, 4, 4))
    assert f.shape == (24, 16) and (f == 0).all()
    with pytest.raises(DataError, match='Flatten has no nn.Linear layer'): extract_features(nn.Flatten(), ds)
    with pytest.raises(DataError, match=r'returned shape \(24,\) for a batch of 24 images'): extract_features(lambda x: x.mean((1, 2, 3)), ds)
    with pytest.raises(DataError, match='extract_features needs an ImageSet or a torch Dataset yielding \(image, label\); got ndarray'): extract_features(lambda x: x, np.zeros((3, 8, 8)))
    with pytest.raises(DataError, match='is empty'): extract_features(lambda x: x, ds.subset([]))
    class Skips(nn.Module):                                                    # registers a Linear it never calls
        def __init__(self): super().__init__(); self.head = nn.Linear(64, 3)
        def forward(self, x): return x.flatten(1)
    with pytest.raises(DataError, match='the last nn.Linear of Skips did not run'): extract_features(Skips(), ds)

# --- 2-D maps -----------------------------------------------------------------------------------
def two_clusters(n=150, D=10, seed=0):
    r = np.random.default_rng(seed)
    y = np.repeat([0, 1], n)
    return r.normal(size=(2 * n, D)) + 8 * y[:, None], y

def test_embed_2d_umap_separates_clusters():
    # the first UMAP call in a process compiles numba code: 45-75 s on a CPU, once
    x, y = two_clusters()
    xy = embed_2d(x, 'umap', seed=0)
    assert xy.shape == (300, 2) and np.isfinite(xy).all()
    gap = np.linalg.norm(xy[y == 0].mean(0) - xy[y == 1].mean(0))
    spread = max(xy[y == 0].std(0).max(), xy[y == 1].std(0).max())
    assert gap > 3 * spread
    np.testing.assert_allclose(embed_2d(x, 'umap', seed=0), xy)                  # deterministic for a seed
    assert embed_2d(x[:5], 'umap').shape == (5, 2)                               # n_neighbors shrinks for few points
    fig = gap_scatter(x, y, np.arange(300) % 2, ['c0', 'c1'], method='umap', max_points=120, seed=0)
    assert sum(len(t.x) for t in fig.data) == 120 and 'UMAP' in fig.layout.title.text

def test_embed_2d_pca_and_errors():
    x, y = two_clusters()
    xy = embed_2d(x, 'pca')
    assert xy.shape == (300, 2) and abs(np.corrcoef(xy[:, 0], y)[0, 1]) > 0.95
    with pytest.raises(DataError, match="unknown method 'tsne'"): embed_2d(x, 'tsne')
    with pytest.raises(DataError, match='at least 3 feature vectors; got 2'): embed_2d(x[:2], 'pca')
    with pytest.raises(DataError, match='at least 2 dimensions'): embed_2d(x[:, :1], 'pca')

def test_gap_scatter_traces_symbols_and_subsampling():
    x, d, y = gaussian(1.0)
    fig = gap_scatter(x, y, d, ['a', 'b', 'c'], method='pca')
    assert [t.name for t in fig.data] == ['a real', 'a synthetic', 'b real', 'b synthetic', 'c real', 'c synthetic']
    assert [t.marker.symbol for t in fig.data] == ['circle', 'x'] * 3
    assert fig.data[0].marker.color == fig.data[1].marker.color != fig.data[2].marker.color
    assert sum(len(t.x) for t in fig.data) == 1500
    pick = lambda s: sorted(i for t in gap_scatter(x, y, d, method='pca', max_points=200, seed=s).data for i in t.customdata)
    assert len(pick(0)) == 200 and pick(0) == pick(0) and pick(0) != pick(1)
    with pytest.raises(DataError, match='label 2 is out of range for 2 class names'): gap_scatter(x, y, d, ['a', 'b'], method='pca')
    with pytest.raises(DataError, match='labels has 3 entries'): gap_scatter(x, y[:3], d, method='pca')

# --- replacement --------------------------------------------------------------------------------
def coded(counts, start, domain, groups=False):
    "An ImageSet whose image i is filled with the value start + i, so every image is recognisable."
    lab = np.repeat(np.arange(len(counts)), counts)
    px = (start + np.arange(len(lab))).astype(np.uint8)[:, None, None].repeat(3, 1).repeat(3, 2)
    return ImageSet(px, lab, ['a', 'b', 'c', 'd'][:len(counts)], groups=(np.arange(len(lab)) % 2) if groups else None,
                    domain=domain, name=domain)

REAL, SYN = coded([12, 7, 10, 5], 0, 'real'), coded([15, 15, 15, 15], 100, 'synthetic')
values = lambda s: s.images.stack()[:, 0, 0, 0].astype(int)

@pytest.mark.parametrize('mode', ['ratio', 'classwise'])
@pytest.mark.parametrize('ratio', [0, 0.1, 0.25, 0.5, 0.75, 1.0])
def test_replacement_keeps_class_counts_and_flags_domains(mode, ratio):
    s = replacement_set(REAL, SYN, ratio, mode)
    assert s.counts().tolist() == REAL.counts().tolist()
    v = values(s)
    assert ((v >= 100) == (s.domain == 1)).all()                                       # domain flag = where the image came from
    assert (SYN.labels[v[s.domain == 1] - 100] == s.labels[s.domain == 1]).all()      # same class as replaced
    assert (REAL.labels[v[s.domain == 0]] == s.labels[s.domain == 0]).all()
    assert len(set(v.tolist())) == len(v)                                              # no image twice
    syn_per_class = np.bincount(s.labels[s.domain == 1], minlength=4)
    if mode == 'ratio': assert syn_per_class.tolist() == [int(np.floor(ratio * n + 0.5)) for n in REAL.counts()]
    else:
        full = syn_per_class == REAL.counts()
        assert ((syn_per_class == 0) | full).all() and full.sum() == int(np.floor(ratio * 4 + 0.5))

@pytest.mark.parametrize('mode', ['ratio', 'classwise'])
def test_replacement_is_deterministic_by_seed_and_nested(mode):
    a, b, c = (replacement_set(REAL, SYN, 0.5, mode, seed=s) for s in (0, 0, 1))
    assert values(a).tolist() == values(b).tolist() and values(a).tolist() != values(c).tolist()
    replaced = lambda r: set(range(34)) - set(values(replacement_set(REAL, SYN, r, mode, seed=0)).tolist())
    assert replaced(0) == set() and replaced(0.25) <= replaced(0.5) <= replaced(0.75) <= replaced(1.0) == set(range(34))

def test_replacement_keeps_groups_and_marks_synthetic_unknown():
    s = replacement_set(coded([12, 7, 10, 5], 0, 'real', groups=True), SYN, 0.5)
    assert s.has_groups and (s.groups[s.domain == 1] == -1).all() and (s.groups[s.domain == 0] >= 0).all()

def test_replacement_errors_name_class_needed_available():
    few = coded([15, 3, 15, 15], 100, 'synthetic')
    with pytest.raises(DataError, match=r"class 'b' needs 7 synthetic images to replace 7 of its 7 real ones \(mode 'ratio', ratio 1\) but synthetic has 3"):
        replacement_set(REAL, few, 1.0)
    assert replacement_set(REAL, few, 0.25).counts().tolist() == REAL.counts().tolist()    # 2 of class b: enough
    with pytest.raises(DataError, match=r"needs 7 synthetic images .* \(mode 'classwise', ratio 1\) but synthetic has 3"): replacement_set(REAL, few, 1.0, 'classwise')
    with pytest.raises(DataError, match=r'ratio must be a number in \[0, 1\]; got -0.1'): replacement_set(REAL, SYN, -0.1)
    with pytest.raises(DataError, match='ratio must be a number in'): replacement_set(REAL, SYN, True)
    with pytest.raises(DataError, match="unknown mode 'random'"): replacement_set(REAL, SYN, 0.5, 'random')
    with pytest.raises(DataError, match=r'real holds 10 synthetic images \(domain 1\)'): replacement_set(REAL + SYN.subset(range(10)), SYN, 0.5)
    with pytest.raises(DataError, match=r'synthetic holds 34 real images \(domain 0\)'): replacement_set(REAL, REAL, 0.5)
    with pytest.raises(DataError, match='different classes'): replacement_set(REAL, coded([15, 15, 15], 100, 'synthetic'), 0.5)

def test_replacement_curve_calls_train_eval_per_ratio():
    seen = []
    def train_eval(ts):
        seen.append((len(ts), int(ts.domain.sum())))
        return {'accuracy': 100 - ts.domain.mean() * 10, 'n': len(ts)}
    df = replacement_curve(REAL, SYN, train_eval, ratios=(0, 0.5, 1.0))
    assert seen == [(34, 0), (34, 6 + 4 + 5 + 3), (34, 34)]                              # floor(0.5 n + 0.5) of 12, 7, 10, 5
    assert df.columns.tolist() == ['mode', 'ratio', 'n_real', 'n_synthetic', 'classes_without_real', 'accuracy', 'n', 'seconds']
    assert df.classes_without_real.tolist() == [0, 0, 4] and df.accuracy.tolist() == pytest.approx([100, 100 - 180 / 34, 90])
    assert df.n.tolist() == [34] * 3 and df.n.dtype.kind == 'i'
    cw = replacement_curve(REAL, SYN, lambda ts: 1.0, ratios=[0.25, 0.5], mode='classwise', seed=2)
    assert cw.classes_without_real.tolist() == [1, 2] and cw['mode'].unique().tolist() == ['classwise']
    fig = plot_replacement(__import__('pandas').concat([df, cw]))
    assert len(fig.data) == 2 and list(fig.data[0].x) == [0, 50, 100]

def test_replacement_curve_checks_everything_before_training():
    seen = []
    few = coded([15, 3, 15, 15], 100, 'synthetic')
    with pytest.raises(DataError, match="class 'b' needs 5 synthetic images"):
        replacement_curve(REAL, few, lambda ts: seen.append(1) or 1.0, ratios=(0, 0.25, 0.75))
    assert seen == []
    with pytest.raises(DataError, match='train_eval must return a number .*; got NoneType'): replacement_curve(REAL, SYN, lambda ts: None, ratios=[0])
    with pytest.raises(DataError, match="dict of numbers; got str for 'f1'"): replacement_curve(REAL, SYN, lambda ts: {'f1': 'high'}, ratios=[0])
    with pytest.raises(DataError, match='ratios is empty'): replacement_curve(REAL, SYN, lambda ts: 1.0, ratios=[])
    with pytest.raises(DataError, match=r"df lacks the columns \['accuracy'\]"): plot_replacement(replacement_curve(REAL, SYN, lambda ts: {'f1': 1.0}, ratios=[0]))
