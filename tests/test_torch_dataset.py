"A torch user's habits across modules: `ImageSet` in a plain `DataLoader`, a torchvision `ImageFolder` (and `Subset`, `ConcatDataset`) where an `ImageSet` goes, transforms kept or refused by name, the CLI's Many/Few thresholds in Python, the model left on its device and in its layout."
import json
from pathlib import Path
import numpy as np
import pytest
import torch
import torch.nn as nn
import torchvision.transforms as T
from torch.utils.data import DataLoader, Subset, ConcatDataset, TensorDataset
from torchvision.datasets import ImageFolder
from conftest import synaug_in_process as here
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet, check_image_set
from synaug_nb.loaders import load_image_folder
from synaug_nb.specs import from_dataset
from synaug_nb.batches import BatchSampler
import synaug_nb.batches as batches
from synaug_nb.models import small_cnn
from synaug_nb.train import Learner, Callback, finetune_last_layer
from synaug_nb.metrics import predict, evaluate
from synaug_nb.test_utils import write_image_folder

@pytest.fixture
def pets(tmp_path) -> Path: return write_image_folder(tmp_path/'pets', ('cat', 'dog', 'fox'), n_per_class=[8, 4, 2], size=12)

def test_imageset_is_x_y_in_a_plain_dataloader():
    x = np.random.default_rng(0).integers(0, 256, (10, 6, 6, 3), dtype=np.uint8)
    ds = ImageSet(x, [0] * 6 + [1] * 4, ['a', 'b'], groups=[0, 1] * 5, domain=[0] * 8 + [1] * 2)
    seen = 0
    for xb, yb in DataLoader(ds, batch_size=4):          # torchvision's protocol: (sample, target)
        assert xb.shape[1:] == (3, 6, 6) and xb.dtype == torch.float32; seen += len(yb)
    assert seen == 10 and len(ds[0]) == 2
    xb, yb, gb, db = next(iter(DataLoader(ds.with_items('x', 'y', 'group', 'domain'), batch_size=10)))
    assert gb.tolist() == [0, 1] * 5 and db.tolist() == [0] * 8 + [1] * 2 and yb.tolist() == ds.labels.tolist()
    assert ds.items == ('x', 'y')                        # with_items is a view; the set is unchanged
    with pytest.raises(DataError, match="unknown item 'label'"): ds.with_items('label')

def test_learner_predict_and_evaluate_take_an_imagefolder(pets):
    torch.manual_seed(0); net = small_cnn(3, 3, width=8)
    ln = Learner(net, ImageFolder(pets), batch_size=4, device='cpu', num_workers=0).fit(2, progress=False)
    assert ln.train.classes == ['cat', 'dog', 'fox'] and not ln.train.images.in_memory
    pred = predict(net, ImageFolder(pets))
    assert pred.shape == (14,)
    rep = evaluate(net, ImageFolder(pets), [8, 4, 2])
    assert rep.classes == ['cat', 'dog', 'fox'] and rep.test_counts.tolist() == [8, 4, 2]
    finetune_last_layer(net, ImageFolder(pets), steps=1)

def test_what_is_not_data_is_refused_naming_the_fix(pets):
    tds = TensorDataset(torch.zeros(2, 3, 4, 4), torch.tensor([0, 1]))
    with pytest.raises(DataError, match=r'got TensorDataset; a torch Dataset becomes one with synaug_nb\.specs\.from_dataset\(ds\)'):
        check_image_set(tds, 'extract_features')
    with pytest.raises(DataError, match='BatchSampler needs an ImageSet training set; got TensorDataset'): BatchSampler(tds, 2)
    for f, who in ((lambda: Learner(small_cnn(2, 3), [1, 2]), 'Learner'), (lambda: predict(small_cnn(2, 3), 'pets/'), 'predict'),
                   (lambda: evaluate(small_cnn(2, 3), {'x': 1}, [1, 1]), 'evaluate')):
        with pytest.raises(DataError, match=f'{who} needs an ImageSet or a torch Dataset yielding \\(image, label\\)'): f()

def test_from_dataset_applies_the_folder_transform(pets):
    ds = from_dataset(ImageFolder(pets, transform=T.Resize(8)))
    assert not ds.images.in_memory and ds.transform is not None
    xb, yb = next(iter(DataLoader(ds, batch_size=14)))
    assert xb.shape == (14, 3, 8, 8) and 0 <= xb.min() and xb.max() <= 1 and yb.tolist() == [0] * 8 + [1] * 4 + [2] * 2
    same = from_dataset(ImageFolder(pets, transform=T.ToTensor()))
    assert isinstance(same.transform, T.ToTensor) and torch.equal(same[3][0], from_dataset(ImageFolder(pets))[3][0])

def test_from_dataset_refuses_normalized_images(pets):
    norm = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5)])
    with pytest.raises(DataError, match=r'the transform of ImageFolder \(Compose\(ToTensor, Normalize\)\) yields images with values from -[\d.]+ to .*'
                                        r'outside \[0, 1\]\); an ImageSet holds images in \[0, 1\].*remove Normalize'):
        from_dataset(ImageFolder(pets, transform=norm))
    class Mem(torch.utils.data.Dataset):                 # read into memory: the same check, not a silent clip
        def __len__(self): return 4
        def __getitem__(self, i): return norm(T.ToPILImage()(torch.full((3, 4, 4), i / 3))), i % 2
    with pytest.raises(DataError, match=r'Mem yields images with values from -1 to 1 \(50% of the pixels outside'): from_dataset(Mem())

def test_class_names_survive_subset_and_concat(pets):
    sub = from_dataset(Subset(ImageFolder(pets), [0, 9, 13]))
    assert sub.classes == ['cat', 'dog', 'fox'] and sub.labels.tolist() == [0, 1, 2] and not sub.images.in_memory
    both = from_dataset(ConcatDataset([ImageFolder(pets), Subset(ImageFolder(pets), [12])]))
    assert both.classes == ['cat', 'dog', 'fox'] and both.counts().tolist() == [8, 4, 3]
    tds = TensorDataset(torch.rand(3, 3, 4, 4), torch.tensor([2, 0, 1])); tds.classes = ['x', 'y', 'z']
    assert from_dataset(Subset(tds, [0, 1])).classes == ['x', 'y', 'z']   # read into memory, names kept
    other = ImageFolder(pets); other.classes = ['a', 'b', 'c']
    with pytest.raises(DataError, match='have different classes'): from_dataset(ConcatDataset([TensorDataset(torch.rand(1, 3, 4, 4), torch.tensor([0])), tds, Subset(other, [0])]))

def test_profile_thresholds_are_the_clis(tmp_path):
    write_image_folder(tmp_path/'lt'/'train', ('a', 'b', 'c'), n_per_class=[40, 12, 3], size=8)
    write_image_folder(tmp_path/'lt'/'test', ('a', 'b', 'c'), n_per_class=2, size=8)
    r = here('profile', '--out', tmp_path/'p', '--data', f'folder:{tmp_path/"lt"}')
    assert r.returncode == 0, r.stderr
    cli = json.loads((tmp_path/'p'/'profile.json').read_text())['train']
    py = load_image_folder(tmp_path/'lt'/'train').profile().to_dict()
    assert py['thresholds'] == cli['thresholds'] == {'many_above': 8.0, 'few_below': 1.6}
    assert py['splits'] == cli['splits'] == {'many': ['a', 'b'], 'medium': ['c'], 'few': []}
    assert from_dataset(ImageFolder(tmp_path/'lt'/'train')).profile().to_dict()['thresholds'] == cli['thresholds']
    rep = evaluate(small_cnn(3, 3, width=8), ImageFolder(tmp_path/'lt'/'test'), [40, 12, 3])
    assert (rep.many_above, rep.few_below) == (8.0, 1.6) and not np.isnan(rep.split['many'])

class Moves(nn.Sequential):
    "A model that counts its moves: `.to(...)` goes through `_apply`."
    n = 0
    def _apply(self, fn, *a, **k): Moves.n += 1; return super()._apply(fn, *a, **k)

def test_predict_and_evaluate_run_where_the_model_is(pets):
    m = Moves(nn.Flatten(), nn.Linear(3 * 12 * 12, 3)); w = m[1].weight; Moves.n = 0; ds = load_image_folder(pets)
    predict(m, ds); evaluate(m, ds, [8, 4, 2]); predict(m, ds, device='cpu')
    assert Moves.n == 0 and m[1].weight is w and m[1].weight.device.type == 'cpu'

def test_a_model_run_elsewhere_goes_back(pets, monkeypatch):
    "A model said to live on another device (here 'meta') is moved for the run and moved back afterwards, also after an error."
    real = batches.model_device
    for bad in (False, True):
        m = nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 12, 2 if bad else 3))
        said = iter([torch.device('meta')])          # its home, as on_device first reads it
        monkeypatch.setattr(batches, 'model_device', lambda model: next(said, None) or real(model))
        if bad:
            with pytest.raises(DataError, match='logits of shape'): predict(m, ImageFolder(pets), device='cpu')
        else: predict(m, ImageFolder(pets), device='cpu')
        assert m[1].weight.device.type == 'meta'       # back home: not left on the CPU

def test_finetune_last_layer_defaults_to_the_models_device(pets):
    import inspect
    assert inspect.signature(finetune_last_layer).parameters['device'].default is None
    net = small_cnn(3, 3, width=8)
    finetune_last_layer(net, ImageFolder(pets), steps=1)
    assert next(net.parameters()).device.type == 'cpu'

class Layout(Callback):
    def __init__(self): self.seen = []
    def before_batch(self): self.seen.append(all(p.is_contiguous(memory_format=torch.channels_last) for p in self.learn.model.parameters() if p.dim() == 4))

def test_learner_does_not_change_the_users_layout(pets):
    net, lay, ds = small_cnn(3, 3, width=8), Layout(), load_image_folder(pets)
    ln = Learner(net, ds, batch_size=4, device='cpu', num_workers=0)
    assert all(p.is_contiguous() for p in net.parameters())              # not at construction
    ln.fit(2, progress=False, cbs=[lay])
    assert lay.seen == [True, True]                                       # channels-last while training (the speed)
    assert all(p.is_contiguous() for p in net.parameters())              # handed back as it came
    mine = small_cnn(3, 3, width=8).to(memory_format=torch.channels_last)
    Learner(mine, ds, batch_size=4, device='cpu', num_workers=0).fit(1, progress=False)   # yours, channels-last: kept
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in mine.parameters() if p.dim() == 4)

def test_uniformize_takes_an_imagefolder(pets):
    "The plan of a torch Dataset is that of the ImageSet it becomes (names, counts, seeds); a wrong type says what is taken."
    from synaug_nb.plan import uniformize
    plan, ref = uniformize(ImageFolder(pets), cap=6), uniformize(load_image_folder(pets), cap=6)
    assert plan.classes == ['cat', 'dog', 'fox'] and plan.real.tolist() == [8, 4, 2] and plan.target.tolist() == [8, 6, 6]
    assert plan.fingerprint() == ref.fingerprint()
    with pytest.raises(DataError, match="uniformize needs an ImageSet, an ImbalanceProfile or a torch Dataset; got list"): uniformize([1, 2])
