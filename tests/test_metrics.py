"Metrics: agreement with fairlearn and prdc, hand-computed cases, edge cases, bad input, and evaluate on a tiny ImageSet."
import contextlib, io, json, math
import numpy as np
import pytest
import torch
import torch.nn as nn
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.metrics import (per_class_accuracy, split_accuracy, group_accuracy, group_rates, fairness_gaps,
                               Report, plot_per_class, predict, evaluate)
from synaug_nb.fidelity import frechet_distance, fid, density_coverage

def rand_labels(seed, n, n_classes, n_groups):
    r = np.random.default_rng(seed)
    return r.integers(0, n_classes, n), r.integers(0, n_classes, n), r.integers(0, n_groups, n)

# --- accuracy ------------------------------------------------------------------------------------
def test_per_class_nan_for_class_absent_from_test_set():
    acc = per_class_accuracy([0, 0, 2, 2], [0, 1, 2, 2], 3)
    assert acc[0] == 50 and acc[2] == 100 and math.isnan(acc[1])

def test_split_accuracy_splits_by_training_counts_not_test_counts():
    # the test set is balanced; the training counts alone decide Many (>100), Medium, Few (<20)
    y = np.repeat(np.arange(3), 10); p = y.copy(); p[20:25] = 0
    sa = split_accuracy(y, p, [1000, 50, 5])
    assert sa == {'many': 100.0, 'medium': 100.0, 'few': 50.0, 'all': pytest.approx(250 / 3)}
    assert split_accuracy(y, p, [5, 50, 1000])['few'] == 100.0

def test_split_all_equals_class_mean_on_balanced_test_set():
    r = np.random.default_rng(3); y = np.repeat(np.arange(7), 13); p = r.integers(0, 7, len(y))
    sa = split_accuracy(y, p, [300, 200, 90, 40, 19, 10, 3])
    assert sa['all'] == pytest.approx(np.mean(per_class_accuracy(y, p, 7)))

def test_empty_split_is_nan_and_untested_class_is_skipped():
    sa = split_accuracy([0, 0, 1], [0, 0, 0], [500, 50, 5])   # class 2 (Few) has no test sample
    assert math.isnan(sa['few']) and sa['many'] == 100 and sa['medium'] == 0
    assert math.isnan(split_accuracy([0], [0], [50])['many'])

def test_group_accuracy_waterbirds_like():
    y = [0, 0, 0, 1, 1, 1]; place = [0, 0, 1, 0, 1, 1]; pred = [0, 0, 1, 1, 1, 0]
    ga = group_accuracy(y, pred, place, 2, 2)
    assert ga.cells.tolist() == [[100.0, 0.0], [100.0, 50.0]]
    assert (ga.worst_group, ga.mean_group, ga.worst_cell) == (0.0, 62.5, ('0', 'g1'))
    assert ga.average == pytest.approx(100 * 4 / 6)
    json.dumps(ga.to_dict())

def test_group_accuracy_empty_cell_is_nan_and_skipped():
    ga = group_accuracy([0, 0, 1], [0, 1, 1], [0, 0, 0], 2, 2)
    assert math.isnan(ga.cells[0, 1]) and ga.worst_group == 50 and ga.mean_group == 75

# --- fairness ------------------------------------------------------------------------------------
def test_fairness_hand_example():
    y = [1, 1, 0, 0, 1, 1, 0, 0]; p = [1, 1, 0, 0, 1, 0, 1, 1]; s = [0, 0, 0, 0, 1, 1, 1, 1]
    assert fairness_gaps(y, p, s) == {'dp': 0.25, 'eo': 0.5, 'ed': 1.0}

@pytest.mark.parametrize('n_groups', [2, 3, 5])
@pytest.mark.parametrize('seed', range(4))
def test_binary_gaps_match_fairlearn(seed, n_groups):
    fm = pytest.importorskip('fairlearn.metrics', reason='fairlearn is a dev requirement')
    y, p, s = rand_labels(seed, 500, 2, n_groups)
    ours = fairness_gaps(y, p, s)
    assert ours['dp'] == pytest.approx(fm.demographic_parity_difference(y, p, sensitive_features=s), abs=1e-12)
    assert ours['eo'] == pytest.approx(fm.equal_opportunity_difference(y, p, sensitive_features=s), abs=1e-12)
    assert ours['ed'] == pytest.approx(fm.equalized_odds_difference(y, p, sensitive_features=s), abs=1e-12)

@pytest.mark.parametrize('reduce', ['max', 'mean'])
def test_multiclass_gaps_are_reduced_one_vs_rest_fairlearn(reduce):
    fm = pytest.importorskip('fairlearn.metrics', reason='fairlearn is a dev requirement')
    y, p, s = rand_labels(7, 800, 4, 3)
    per = {'dp': [], 'eo': [], 'ed': []}
    for c in range(4):
        per['dp'].append(fm.demographic_parity_difference(y == c, p == c, sensitive_features=s))
        per['eo'].append(fm.equal_opportunity_difference(y == c, p == c, sensitive_features=s))
        per['ed'].append(fm.equalized_odds_difference(y == c, p == c, sensitive_features=s))
    ours = fairness_gaps(y, p, s, reduce=reduce)
    for k, v in per.items(): assert ours[k] == pytest.approx(getattr(np, reduce)(v), abs=1e-12)

def test_multiclass_eo_is_jung_deo():
    # Jung et al. (2022) code: per class, max - min over groups of the cell accuracy; then max (DEO_M) and mean (DEO_A)
    y, p, s = rand_labels(11, 900, 5, 4)
    cell = np.array([[(p == y)[(s == g) & (y == c)].mean() for c in range(5)] for g in range(4)])
    deo = cell.max(0) - cell.min(0)
    assert fairness_gaps(y, p, s)['eo'] == pytest.approx(deo.max())
    assert fairness_gaps(y, p, s, reduce='mean')['eo'] == pytest.approx(deo.mean())

def test_single_group_gives_zero_gaps():
    y, p, _ = rand_labels(1, 100, 3, 1)
    assert fairness_gaps(y, p, np.zeros(100, int)) == {'dp': 0.0, 'eo': 0.0, 'ed': 0.0}

def test_all_correct_gives_zero_gaps():
    y, _, s = rand_labels(2, 300, 3, 3)
    g = fairness_gaps(y, y, s)
    assert g['eo'] == 0 and g['ed'] == 0
    balanced_y, balanced_s = np.tile([0, 1, 2], 30), np.repeat([0, 1, 2], 30)
    assert fairness_gaps(balanced_y, balanced_y, balanced_s) == {'dp': 0.0, 'eo': 0.0, 'ed': 0.0}
    # all correct but different base rates: DP is the base-rate gap
    assert fairness_gaps([1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 1, 1])['dp'] == 0.5

def test_unknown_groups_are_left_out():
    y, p, s = rand_labels(4, 200, 2, 2)
    s2 = np.concatenate([s, -np.ones(50, int)])
    y2, p2 = np.concatenate([y, np.ones(50, int)]), np.concatenate([p, np.zeros(50, int)])
    assert fairness_gaps(y2, p2, s2) == fairness_gaps(y, p, s)

def test_group_rates_table():
    gr = group_rates([0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1])
    assert len(gr) == 4 and gr.query('group == 1 and `class` == 1').tpr.item() == 0.0

# --- quality of generated features ---------------------------------------------------------------
def test_frechet_distance_closed_form():
    D = 6; m = np.arange(D) / 3
    assert frechet_distance(np.zeros(D), np.eye(D), m, 9 * np.eye(D)) == pytest.approx(m @ m + D * (1 + 9 - 2 * 3))

def test_fid_of_samples():
    r = np.random.default_rng(0)
    a, b = r.normal(size=(20000, 4)), r.normal(1, 1, size=(20000, 4))
    assert fid(a, b) == pytest.approx(4, abs=0.15)
    assert fid(a, a) == pytest.approx(0, abs=1e-6)

def test_fid_few_samples_is_finite():
    # fewer samples than dimensions: singular covariances
    r = np.random.default_rng(0)
    v = fid(r.normal(size=(6, 10)), r.normal(size=(6, 10)))
    assert isinstance(v, float) and np.isfinite(v)

def test_frechet_distance_complex_and_nonfinite_sqrtm(monkeypatch):
    import synaug_nb.fidelity as M
    sqrtm = M.linalg.sqrtm
    r = np.random.default_rng(0); a, b = r.normal(size=(50, 3)), r.normal(1, 2, size=(50, 3))
    args = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
    exact = frechet_distance(*args)
    monkeypatch.setattr(M.linalg, 'sqrtm', lambda A: sqrtm(A) + 1e-9j)      # rounding noise: dropped
    assert frechet_distance(*args) == pytest.approx(exact)
    monkeypatch.setattr(M.linalg, 'sqrtm', lambda A: sqrtm(A) + 0.5j)       # a real problem: refused
    with pytest.raises(DataError, match='large imaginary part'): frechet_distance(*args)
    calls = []
    def first_nan(A):
        calls.append(A); return np.full_like(A, np.nan) if len(calls) == 1 else sqrtm(A)
    monkeypatch.setattr(M.linalg, 'sqrtm', first_nan)                         # non-finite: retried with eps on the diagonals
    assert frechet_distance(*args) == pytest.approx(exact, abs=1e-4) and len(calls) == 2

@pytest.mark.parametrize('k', [1, 3, 5, 10])
def test_density_coverage_match_prdc(k):
    prdc = pytest.importorskip('prdc', reason='prdc is a dev requirement')
    r = np.random.default_rng(k)
    real, fake = r.normal(size=(400, 12)), r.normal(0.3, 1.2, size=(300, 12))
    with contextlib.redirect_stdout(io.StringIO()): ref = prdc.compute_prdc(real, fake, k)
    ours = density_coverage(real, fake, k, block=64)
    assert ours['density'] == pytest.approx(ref['density'], abs=1e-12)
    assert ours['coverage'] == pytest.approx(ref['coverage'], abs=1e-12)

def test_density_coverage_identical_sets_cover_everything():
    x = np.random.default_rng(0).normal(size=(50, 3))
    assert density_coverage(x, x, 3)['coverage'] == 1.0

# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize('call, match', [
    (lambda: per_class_accuracy([0, 1], [0], 2), 'y_true has 2 labels but y_pred has 1'),
    (lambda: per_class_accuracy([0, 5], [0, 1], 3), r'y_true 5 at position 1 is out of range; valid: 0..2'),
    (lambda: per_class_accuracy([0, -1], [0, 1], 3), r'y_true -1 at position 1 is out of range'),
    (lambda: per_class_accuracy([], [], 3), 'empty'),
    (lambda: per_class_accuracy(['a'], ['a'], 3), 'integer labels'),
    (lambda: per_class_accuracy([[0]], [[0]], 3), r'\(1-D\); got shape \(1, 1\)'),
    (lambda: split_accuracy([0, 1], [0, 1], []), 'train_counts must hold one count per class'),
    (lambda: split_accuracy([0, 1], [0, 2], [10, 10]), r'y_pred 2 at position 1 is out of range; valid: 0..1'),
    (lambda: group_accuracy([0, 1], [0, 1], [0, 3], 2, 2), r'group 3 at position 1 is out of range; valid: -1..1'),
    (lambda: group_accuracy([0, 1], [0, 1], [0, 1], 2, 0), 'n_groups must be an integer >= 1; got 0'),
    (lambda: fairness_gaps([0, 1], [0, 1], [0]), 's has 1 entries but there are 2 test samples'),
    (lambda: fairness_gaps([0, 1], [0, 1], [0, 1], reduce='min'), r"unknown reduce 'min'; valid: 'max', 'mean'"),
    (lambda: fairness_gaps([0, 1], [0, 1], [-1, -1]), 'no sample has a known group'),
    (lambda: fairness_gaps([0, 3], [0, 1], [0, 1], n_classes=2), r'y_true 3 at position 1 is out of range'),
    (lambda: fid(np.zeros((5, 3)), np.zeros((5, 4))), 'feats_a has 3 dimensions but feats_b has 4'),
    (lambda: fid(np.zeros((1, 3)), np.zeros((5, 3))), 'feats_a has 1 feature vectors; need at least 2'),
    (lambda: fid(np.zeros(3), np.zeros((5, 3))), r'feats_a must be an \(N, D\) array'),
    (lambda: density_coverage(np.zeros((5, 3)), np.zeros((5, 3)), k=5), 'k=5 is too large for 5 real feature vectors'),
    (lambda: density_coverage(np.zeros((5, 3)), np.zeros((5, 2))), 'real_feats has 3 dimensions but fake_feats has 2'),
    (lambda: density_coverage(np.zeros((0, 3)), np.zeros((5, 3))), 'real_feats has 0 feature vectors'),
    (lambda: Report.of([0], [0], [1, 2], classes=['a']), '1 class names for 2 classes'),
])
def test_bad_input_names_value(call, match):
    with pytest.raises(DataError, match=match): call()

# --- report and evaluate -------------------------------------------------------------------------
class PlantedModel(nn.Module):
    "Predicts the class written in pixel (0, 0) of the image: predictions are known in advance."
    def __init__(self, n_classes):
        super().__init__(); self.n_classes = n_classes; self.lin = nn.Linear(1, 1)   # a parameter, so .to() and .eval() matter
    def forward(self, x):
        k = (x[:, 0, 0, 0] * 255).round().long()
        return nn.functional.one_hot(k, self.n_classes).float() + 0 * self.lin.weight.sum()

def tiny_set(seed=0):
    r = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 8); groups = np.tile([0, 1], 12); groups[0] = -1
    pred = labels.copy(); pred[(labels == 2) & (groups == 1)] = 0; pred[[1, 9]] = [1, 2]
    x = r.integers(0, 256, (len(labels), 6, 6, 1)).astype(np.uint8); x[:, 0, 0, 0] = pred
    return ImageSet(x, labels, ['ant', 'bee', 'cow'], groups, ['day', 'night'], name='tiny'), pred

def test_evaluate_tiny_imageset_with_groups():
    ds, pred = tiny_set()
    model = PlantedModel(3)
    rep = evaluate(model, ds, [200, 50, 10], batch_size=5, many_above=100, few_below=20)
    assert model.training                                     # evaluate restores the mode it found
    np.testing.assert_array_equal(predict(model, ds, batch_size=7), pred)
    ref = Report.of(ds.labels, pred, [200, 50, 10], ds.groups, 2, ds.classes, ds.group_names, name='tiny')
    assert rep.to_dict() == ref.to_dict()
    # hand-computed: ant 7/8, bee 7/8, cow 4/8 (its 4 night images are predicted ant)
    assert rep.per_class.tolist() == [87.5, 87.5, 50.0]
    assert rep.split == {'many': 87.5, 'medium': 87.5, 'few': 50.0, 'all': pytest.approx(100 * 18 / 24)}
    assert rep.groups.cells[2].tolist() == [100.0, 0.0] and rep.groups.worst_group == 0.0
    assert rep.groups.counts.sum() == 23                       # one image has an unknown group
    assert rep.fairness == fairness_gaps(ds.labels, pred, ds.groups, 3)
    assert rep.fairness['eo'] == 1.0                           # cow: TPR 1 by day, 0 at night
    d = json.loads(json.dumps(rep.to_dict()))
    assert d['splits'] == {'many': ['ant'], 'medium': ['bee'], 'few': ['cow']} and d['fairness']['reduce'] == 'max'
    assert '| Worst group |' in rep._repr_markdown_() and 'worst group 0.0%' in rep.summary()

def test_evaluate_transform_and_no_groups():
    ds, pred = tiny_set()
    flat = ImageSet(ds.images, ds.labels, ds.classes, name='flat')
    seen = []
    def tf(img):
        seen.append(img.size); return torch.from_numpy(np.asarray(img, dtype=np.float32)[None] / 255)
    rep = evaluate(PlantedModel(3), flat, [10, 10, 10], transform=tf, many_above=100, few_below=20)
    assert len(seen) == len(ds) and rep.groups is None and rep.fairness is None
    assert rep.split['all'] == pytest.approx(100 * 18 / 24) and math.isnan(rep.split['many'])
    assert 'Worst group' not in rep._repr_markdown_()

def test_evaluate_errors():
    ds, _ = tiny_set()
    with pytest.raises(DataError, match='train_counts has 2 classes but the test set'): evaluate(PlantedModel(3), ds, [1, 2])
    with pytest.raises(DataError, match=r'logits of shape \(24, 4\); expected \(batch, 3\)'): evaluate(PlantedModel(4), ds, [1, 2, 3])
    with pytest.raises(DataError, match="the test set 'tiny' is empty"): evaluate(PlantedModel(3), ds.subset([]), [1, 2, 3])
    with pytest.raises(DataError, match='needs an ImageSet'): predict(PlantedModel(3), [1, 2, 3])

def test_plot_per_class_orders_by_training_count():
    ds, pred = tiny_set()
    rep = Report.of(ds.labels, pred, [5, 500, 50], classes=ds.classes)
    fig = plot_per_class(rep)
    assert list(fig.layout.xaxis.categoryarray) == ['bee', 'cow', 'ant']
    assert [t.name for t in fig.data] == ['Many', 'Medium', 'Few', 'training images']
    assert list(fig.data[0].x) == ['bee'] and list(fig.data[2].x) == ['ant']

def test_predict_num_workers():
    "`num_workers`, the name `Learner` and torch's DataLoader use: a worker predicts the same; a bad count is refused by name."
    ds, pred = tiny_set()
    np.testing.assert_array_equal(predict(PlantedModel(3), ds, batch_size=5, num_workers=1), pred)
    assert evaluate(PlantedModel(3), ds, [200, 50, 10], num_workers=1).to_dict() == evaluate(PlantedModel(3), ds, [200, 50, 10]).to_dict()
    for bad in (-1, 'auto', 1.5):
        with pytest.raises(DataError, match=f"num_workers must be an integer >= 0; got {bad!r}"): predict(PlantedModel(3), ds, num_workers=bad)
