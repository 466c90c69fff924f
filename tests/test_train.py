"The training loop across modules: samplers, losses, mixing, last-layer fine-tuning, file-backed sets, checkpoint resume."
import numpy as np
import pytest
import torch
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.loaders import load_image_folder
from synaug_nb.models import small_cnn
from synaug_nb.test_utils import toy_images, write_image_folder
from synaug_nb.batches import BatchSampler
from synaug_nb.train import GroupDROLoss, Learner, finetune_last_layer, make_loss, mixup

@pytest.fixture
def lt():
    y = np.repeat(np.arange(3), [60, 15, 5]); g = np.arange(len(y)) % 2
    return ImageSet(toy_images(y, 12), y, ['a', 'b', 'c'], groups=g, group_names=['u', 'v'], name='lt')

def test_samplers(lt):
    cb = BatchSampler(lt, 30000, 'class_balanced', seed=1)()
    assert np.allclose(np.bincount(lt.labels[cb]) / 30000, 1 / 3, atol=0.02)
    syn = lt.subset(np.arange(10)); syn.domain[:] = 1
    hb = BatchSampler(lt + syn, 33, 'half_real', seed=0)()
    assert (lt + syn).domain[hb].sum() == 17
    with pytest.raises(DataError, match='no synthetic images'): BatchSampler(lt, 8, 'half_real')
    with pytest.raises(DataError, match="unknown sampler 'random'"): BatchSampler(lt, 8, 'random')
    assert (BatchSampler(lt, 8, seed=5)() == BatchSampler(lt, 8, seed=5)()).all()

def test_group_dro_upweights_the_worst_group():
    loss = GroupDROLoss(2, eta=1.0)
    logits = torch.tensor([[5., 0], [5., 0], [0., 5], [0., 5]]); y = torch.tensor([0, 0, 0, 0]); g = torch.tensor([0, 0, 1, 1])
    for _ in range(5): loss(logits, y, g)
    assert loss.q[1] > 0.9

def test_mixup_pairs_across_domains_when_asked():
    d = torch.tensor([0] * 5 + [1] * 3); y = torch.arange(8)
    _, ya, yb, lam = mixup(torch.zeros(8, 1, 2, 2), y, d, cross_domain=True, g=torch.Generator().manual_seed(3))
    assert (d[yb] != d[ya]).all()

def test_finetune_touches_only_the_head(lt):
    torch.manual_seed(0); m = small_cnn(3, 1, width=8)
    Learner(m, lt, batch_size=16, device='cpu').fit(5, progress=False)
    feats = {k: v.clone() for k, v in m.features.state_dict().items()}; head = m.head.weight.detach().clone()
    finetune_last_layer(m, lt, steps=5, lr=0.1)
    assert all(torch.equal(feats[k], v) for k, v in m.features.state_dict().items())
    assert not torch.equal(head, m.head.weight) and all(p.requires_grad for p in m.parameters())
    with pytest.raises(DataError, match='at least one image per class'): finetune_last_layer(m, lt, n_per_class=0)

def test_learner_reads_files(tmp_path):
    ds = load_image_folder(write_image_folder(tmp_path/'f', n_per_class=[6, 3, 2], size=12), mode='L')
    torch.manual_seed(0); m = small_cnn(3, 1, width=8)
    ln = Learner(m, ds, loss='balanced_softmax', sampler='class_balanced', batch_size=8, device='cpu').fit(3, progress=False)
    assert ln.X is None and len(ln.history) == 3

def test_resume_after_interruption_is_exact(lt, tmp_path):
    def fresh():
        torch.manual_seed(0); return Learner(small_cnn(3, 1, width=8), lt, mix='cutmix', batch_size=16, device='cpu', seed=2)
    full = fresh().fit(40, progress=False)
    fresh().fit(40, ckpt=tmp_path, save_every=15, stop_after=25, progress=False)
    res = fresh().fit(40, ckpt=tmp_path, resume=True, progress=False)
    for a, b in zip(full.model.state_dict().values(), res.model.state_dict().values()): assert torch.allclose(a.float(), b.float(), atol=1e-6)

def test_bad_input(lt):
    with pytest.raises(DataError, match="unknown loss 'focal'"): make_loss('focal', lt)
    with pytest.raises(DataError, match="needs a training set with groups"): make_loss('group_dro', ImageSet(lt.images, lt.labels, lt.classes))
    with pytest.raises(DataError, match='steps must be an integer >= 1; got 0'): Learner(small_cnn(3, 1), lt, device='cpu').fit(0)
    with pytest.raises(DataError, match="unknown mix 'mixer'"): Learner(small_cnn(3, 1), lt, mix='mixer', device='cpu')

# ---- file-backed sets through the DataLoader (workers), transforms, exact resume ----

def _digits_on_disk(root, n=200):
    "The first `n` scikit-learn digits sorted by label, in memory and as PNG files read back lazily in the same order."
    from PIL import Image
    from synaug_nb.loaders import load_digits
    d = load_digits(); d = d.subset(np.arange(n)); mem = d.subset(np.argsort(d.labels, kind='stable'))
    for i, (y, im) in enumerate(zip(mem.labels, mem.images.stack())):
        (root/mem.classes[y]).mkdir(parents=True, exist_ok=True); Image.fromarray(im[..., 0]).save(root/mem.classes[y]/f'{i:04d}.png')
    files = load_image_folder(root, mode='L')
    assert (files.labels == mem.labels).all() and not files.images.in_memory
    return mem, files

def _train(ds, steps=20, seed=4, **kw):
    torch.manual_seed(0); m = small_cnn(10, 1, width=8)
    ln = Learner(m, ds, mix='mixup', batch_size=16, device='cpu', seed=seed, **kw).fit(steps, progress=False)
    return ln, torch.rand(1)           # the global torch generator after training: the loader must not draw from it

def _same(a, b): return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))

def test_files_train_like_memory(tmp_path):
    mem, files = _digits_on_disk(tmp_path)
    (lm, rm), (l0, r0), (l2, r2) = _train(mem), _train(files, num_workers=0), _train(files, num_workers=2)
    assert lm.X is not None and l0.X is None and l2.batches.num_workers == 2
    assert _same(lm.model, l0.model) and _same(lm.model, l2.model)
    assert torch.equal(rm, r0) and torch.equal(rm, r2)
    assert lm.sampler.state() == l2.sampler.state()          # the sampler ends where the in-memory one does, not ahead
    with pytest.raises(DataError, match=r"num_workers must be 'auto' or an integer >= 0 \(0: decode in the main process\); got -1"):
        Learner(small_cnn(10, 1), files, device='cpu', num_workers=-1)

def test_stop_and_continue_like_memory(tmp_path):
    "Workers draw ahead; a `fit` that stops early hands the sampler back at the first batch it did not train on."
    mem, files = _digits_on_disk(tmp_path)
    def two_calls(ds, **kw):
        torch.manual_seed(0); ln = Learner(small_cnn(10, 1, width=8), ds, batch_size=16, device='cpu', seed=4, **kw)
        ln.fit(20, stop_after=12, progress=False); s = ln.sampler.state(); ln.fit(20, progress=False)
        return ln, s
    (a, sa), (b, sb) = two_calls(mem), two_calls(files, num_workers=2)
    assert sa == sb and _same(a.model, b.model)

def test_resume_with_workers_is_exact(tmp_path):
    mem, files = _digits_on_disk(tmp_path/'d')
    def fresh(): torch.manual_seed(0); return Learner(small_cnn(10, 1, width=8), files, mix='cutmix', batch_size=16, device='cpu', seed=5, num_workers=2)
    full = fresh().fit(30, progress=False)
    fresh().fit(30, ckpt=tmp_path/'ck', save_every=10, stop_after=13, progress=False)   # workers drew past step 13
    res = fresh().fit(30, ckpt=tmp_path/'ck', resume=True, progress=False)
    assert [h['step'] for h in res.history] == list(range(1, 31))
    assert _same(full.model, res.model)
    torch.manual_seed(0); m = small_cnn(10, 1, width=8)
    assert _same(full.model, Learner(m, mem, mix='cutmix', batch_size=16, device='cpu', seed=5).fit(30, progress=False).model)

def _invert(im):
    from PIL import ImageOps
    from synaug_nb.core import to_tensor
    return to_tensor(ImageOps.invert(im))

def test_transform_is_used_in_training_and_evaluation(tmp_path):
    from synaug_nb.metrics import predict
    mem, _ = _digits_on_disk(tmp_path)
    inv, pre = mem.with_transform(_invert), ImageSet(255 - mem.images.stack(), mem.labels, mem.classes)
    (lt_, _), (lp, _), (lplain, _) = _train(inv), _train(pre), _train(mem)
    assert lt_.X is None and _same(lt_.model, lp.model) and not _same(lt_.model, lplain.model)
    assert (predict(lt_.model, inv) == predict(lt_.model, pre)).all()

def test_random_transform_same_for_any_workers_and_resume(tmp_path):
    import torchvision.transforms.v2 as T
    _, files = _digits_on_disk(tmp_path/'d')
    ds = files.with_transform(T.Compose([T.RandomCrop(8, padding=2), T.ToImage(), T.ToDtype(torch.float32, scale=True)]))
    (a, _), (b, _) = _train(ds, num_workers=0), _train(ds, num_workers=2)
    assert _same(a.model, b.model)
    def fresh(): torch.manual_seed(0); return Learner(small_cnn(10, 1, width=8), ds, mix='mixup', batch_size=16, device='cpu', seed=4, num_workers=2)
    fresh().fit(20, ckpt=tmp_path/'ck', save_every=5, stop_after=7, progress=False)
    assert _same(a.model, fresh().fit(20, ckpt=tmp_path/'ck', resume=True, progress=False).model)

def test_mixed_sizes_refused_before_training(tmp_path):
    from PIL import Image
    from synaug_nb.specs import resize_transform
    for c, s in (('a', 10), ('a', 12), ('b', 10)):
        (tmp_path/c).mkdir(exist_ok=True); Image.new('RGB', (s, s), (c == 'a') * 255).save(tmp_path/c/f'{c}{s}.png')
    ds = load_image_folder(tmp_path)
    with pytest.raises(DataError, match=r"a10\.png' is 10x10 RGB, '.*a12\.png' is 12x12 RGB.*materialize\(ds, size\)"):
        Learner(small_cnn(2, 3, width=8), ds, device='cpu')
    ln = Learner(small_cnn(2, 3, width=8), ds.with_transform(resize_transform(8)), batch_size=4, device='cpu', num_workers=1).fit(2, progress=False)
    assert len(ln.history) == 2
