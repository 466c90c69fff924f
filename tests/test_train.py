"The training loop across modules: samplers, losses, mixing, last-layer fine-tuning, file-backed sets, checkpoint resume."
import numpy as np
import pytest
import torch
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.loaders import load_image_folder
from synaug_nb.models import small_cnn
from synaug_nb.test_utils import toy_images, write_image_folder
from synaug_nb.train import BatchSampler, GroupDROLoss, Learner, finetune_last_layer, make_loss, mixup

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

def test_mixup_pairs_across_domains():
    d = torch.tensor([0] * 5 + [1] * 3); y = torch.arange(8)
    _, ya, yb, lam = mixup(torch.zeros(8, 1, 2, 2), y, d, g=torch.Generator().manual_seed(3))
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
