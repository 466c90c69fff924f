"The `hf:` data spec on Hugging Face datasets that each test builds offline (save_to_disk folders, parquet files), through `load_data`, loader workers and the `synaug` command, and the bad input it refuses."
import io, json, pickle, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image
import datasets
from datasets import Dataset, DatasetDict, Features, ClassLabel, Value
from datasets import Image as HFImage
from conftest import synaug_in_process as here
from synaug_nb.core import DataError
from synaug_nb.specs import load_data
from synaug_nb.hf_data import load_hf, from_hf
from synaug_nb.batches import Batches, BatchSampler

NAMES = ['cat', 'dog', 'fox']

@pytest.fixture(autouse=True)
def hf_cache(tmp_path, monkeypatch):
    "Parquet files are converted to Arrow in the test's own folder, not in ~/.cache/huggingface."
    monkeypatch.setattr(datasets.config, 'HF_DATASETS_CACHE', str(tmp_path/'hf-cache'))
    datasets.disable_progress_bars()

def toy(n_per_class=(6, 3, 2), seed=0, size=8, label_feature=None):
    "A `Dataset` of random RGB images (an Image and a ClassLabel column), and the images as arrays, in row order."
    rng = np.random.default_rng(seed); labels = [c for c, n in enumerate(n_per_class) for _ in range(n)]
    arrs = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in labels]
    feats = Features({'image': HFImage(), 'label': label_feature or ClassLabel(names=NAMES[:len(n_per_class)])})
    return Dataset.from_dict({'image': [Image.fromarray(a) for a in arrs], 'label': labels}, features=feats), arrs

def png(a) -> bytes:
    b = io.BytesIO(); Image.fromarray(a).save(b, 'PNG'); return b.getvalue()

def pixels(ds) -> list: return [ds.image(i) for i in range(len(ds))]

@pytest.fixture
def dd(tmp_path):
    "A save_to_disk DatasetDict with train and test splits, and the arrays of both."
    (tr, a), (te, b) = toy(seed=1), toy((2, 2, 2), seed=2)
    DatasetDict(train=tr, test=te).save_to_disk(str(tmp_path/'dd'))
    return tmp_path/'dd', a, b

def test_save_to_disk_dataset_holds_out_a_test_set(tmp_path):
    ds, arrs = toy(); ds.save_to_disk(str(tmp_path/'pets'))
    b = load_data(f'hf:{tmp_path/"pets"}', generator_data='train')
    assert b.train.classes == NAMES and (b.train.counts() + b.test.counts()).tolist() == [6, 3, 2]
    assert b.test.counts().tolist() == [1, 1, 1] and 'stratified hold-out' in b.info['notes'][1]
    tr, te = load_hf(tmp_path/'pets')
    assert te is None and tr.images.in_memory is False
    assert all((x == a).all() for x, a in zip(pixels(tr), arrs))

def test_dataset_dict_train_and_test_splits(dd):
    path, a, b = dd
    bench = load_data(f'hf:{path}', generator_data='train')
    assert bench.train.counts().tolist() == [6, 3, 2] and bench.test.counts().tolist() == [2, 2, 2]
    assert all((x == y).all() for x, y in zip(pixels(bench.train), a)) and all((x == y).all() for x, y in zip(pixels(bench.test), b))
    assert f"test set: '{path}' (split 'test')" in bench.info['notes']
    only = load_data(f'hf:{path}:test', generator_data='train')     # SPLIT picks the training split; no test split is left
    assert only.train.counts().sum() + only.test.counts().sum() == 6
    with pytest.raises(DataError, match="has its own test split"): load_data(f'hf:{path}', test_frac=0.3)

def test_lazy_through_load_data_and_loader_workers(dd):
    path, a, _ = dd
    bench = load_data(f'hf:{path}', in_memory=False, generator_data='train')
    tr = bench.train
    assert tr.images.in_memory is False and tr.images.paths.tolist() == [''] * len(tr)
    assert len(pickle.dumps(tr)) < 20_000                   # a reference to the memory-mapped files, not the images
    again = pickle.loads(pickle.dumps(tr)); assert (again.image(10) == a[10]).all()
    xb, yb = next(iter(torch.utils.data.DataLoader(tr, batch_size=11, num_workers=1, multiprocessing_context='spawn')))
    assert yb.tolist() == tr.labels.tolist() and torch.equal(xb[3], torch.from_numpy(a[3]).permute(2, 0, 1).float() / 255)
    batches = Batches(tr, BatchSampler(tr, 4, seed=0), num_workers=2)
    assert batches.num_workers == 2
    got = [(x.shape, y) for x, y, *_ in batches(0, 3)]
    assert [s for s, _ in got] == [(4, 3, 8, 8)] * 3 and all(0 <= int(v) < 3 for _, y in got for v in y)

def test_parquet_file_and_push_to_hub_folder(tmp_path):
    (tr, a), (te, b) = toy(seed=1), toy((2, 2, 2), seed=2)
    (tmp_path/'hub'/'data').mkdir(parents=True)
    tr.to_parquet(str(tmp_path/'hub'/'data'/'train-00000-of-00001.parquet'))
    te.to_parquet(str(tmp_path/'hub'/'data'/'test-00000-of-00001.parquet'))
    bench = load_data(f'hf:{tmp_path/"hub"}', generator_data='train')
    assert bench.train.classes == NAMES and bench.train.counts().tolist() == [6, 3, 2] and bench.test.counts().tolist() == [2, 2, 2]
    assert all((x == y).all() for x, y in zip(pixels(bench.test), b))
    one = load_data(f'hf:{tmp_path/"hub"/"data"/"train-00000-of-00001.parquet"}', generator_data='train')
    assert (one.train.counts() + one.test.counts()).tolist() == [6, 3, 2]
    with pytest.raises(DataError, match=r"split 'valid' not found in .*; its splits: \['test', 'train'\]"): load_data(f'hf:{tmp_path/"hub"}:valid')

def test_columns_and_plain_labels(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    Dataset.from_dict({'img': [png(x) for x in a], 'fine': ['b', 'a', 'c', 'a', 'b', 'c'], 'coarse': [0, 1, 0, 1, 0, 1]}).save_to_disk(str(tmp_path/'w'))
    tr, _ = load_hf(tmp_path/'w', label='fine')                    # string labels: sorted names
    assert tr.classes == ['a', 'b', 'c'] and tr.labels.tolist() == [1, 0, 2, 0, 1, 2] and (tr.image(5) == a[5]).all()
    bench = load_data(f'hf:{tmp_path/"w"}:label=coarse', generator_data='train')   # plain integers: '0'..'K-1', with a note
    assert bench.train.classes == ['0', '1'] and any("plain integers" in n for n in bench.info['notes'])
    with pytest.raises(DataError, match=r"has no label column: its columns are 'img' \(Value\('binary'\)\), 'fine' \(Value\('string'\)\)"):
        load_data(f'hf:{tmp_path/"w"}')
    two = toy()[0].add_column('coarse', [0] * 11).cast_column('coarse', ClassLabel(names=['animal']))
    two.save_to_disk(str(tmp_path/'two'))
    with pytest.raises(DataError, match=r"several label columns \['label', 'coarse'\]; choose one with hf:PATH:label=COLUMN"): load_data(f'hf:{tmp_path/"two"}')
    assert load_data(f'hf:{tmp_path/"two"}:label=label', generator_data='train').train.classes == NAMES

def test_profile_command(dd, tmp_path):
    path, _, _ = dd
    r = here('profile', '--data', f'hf:{path}', '--out', tmp_path/'p')
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path/'p'/'profile.json').read_text())
    assert res['dataset'] == f'hf:{path}' and list(res['train']['counts'].items()) == [('cat', 6), ('dog', 3), ('fox', 2)] and res['n_test'] == 6
    r = here('profile', '--data', f'hf:{path}:valid', '--out', tmp_path/'q')
    assert r.returncode == 1 and "split 'valid' not found" in r.stderr and "['train', 'test']" in r.stderr, r.stderr

def bad_set(tmp_path, name, images, labels, label_feature=None):
    feats = Features({'image': HFImage(), 'label': label_feature or ClassLabel(names=['a', 'b'])})
    Dataset.from_dict({'image': images, 'label': labels}, features=feats).save_to_disk(str(tmp_path/name))
    return f'hf:{tmp_path/name}'

def test_bad_input_is_refused_naming_it(tmp_path):
    a = png(np.zeros((8, 8, 3), np.uint8))
    spec = bad_set(tmp_path, 'corrupt', [a, a, b'\x89PNG broken', a], [0, 1, 1, 0])
    with pytest.raises(DataError, match=r"cannot read image row 2 of '.*corrupt' \(corrupted or not an image\)"): load_data(spec)
    with pytest.raises(DataError, match=r"label 5 at row 1 of '.*range2' is out of range for the ClassLabel 'label': valid 0..1 \(\['a', 'b'\]\)"):
        load_data(bad_range(tmp_path, a))
    with pytest.raises(DataError, match="row 1 of .* has label -1 in column 'label', ClassLabel's mark of an unlabelled row"):
        load_data(bad_set(tmp_path, 'unl', [a] * 3, [0, -1, 1]))
    with pytest.raises(DataError, match=r"classes \['b'\] have no images in"): load_data(bad_set(tmp_path, 'empty', [a] * 2, [0, 0]))
    Dataset.from_dict({'picture': [a] * 2, 'label': [0, 1]}).save_to_disk(str(tmp_path/'noimg'))
    with pytest.raises(DataError, match=r"has no image column: its columns are 'picture' \(Value\('binary'\)\), 'label' \(Value\('int64'\)\); .*hf:PATH:image=COLUMN"):
        load_data(f'hf:{tmp_path/"noimg"}')
    with pytest.raises(DataError, match=r"Hugging Face dataset '.*nowhere' not found; hf:PATH takes a folder written by save_to_disk, a .parquet file"):
        load_data(f'hf:{tmp_path/"nowhere"}')
    (tmp_path/'plain').mkdir(); (tmp_path/'plain'/'notes.txt').write_text('x')
    with pytest.raises(DataError, match="holds neither a save_to_disk dataset"): load_data(f'hf:{tmp_path/"plain"}')

def bad_range(tmp_path, a):
    "A ClassLabel column holding a value past its names (written as integers, then cast to a ClassLabel of two names, which `cast` does not check)."
    ds = Dataset.from_dict({'image': [a] * 3, 'label': [0, 5, 1]}, features=Features({'image': HFImage(), 'label': Value('int64')}))
    ds = ds.cast(Features({'image': HFImage(), 'label': ClassLabel(names=['a', 'b'])}))
    ds.save_to_disk(str(tmp_path/'range2'))
    return f'hf:{tmp_path/"range2"}'

def test_images_of_different_sizes_are_named_by_row(tmp_path):
    ims = [png(np.zeros((8, 8, 3), np.uint8))] * 3 + [png(np.zeros((12, 10, 3), np.uint8))]
    spec = bad_set(tmp_path, 'mixed', ims, [0, 1, 0, 1])
    with pytest.raises(DataError, match=r"different sizes: row \d of '.*mixed' is 8x8 RGB, row 3 of '.*mixed' is 10x12 RGB; .*--image-size"):
        load_data(spec, test_frac=0.5, generator_data='train')   # the rows the hold-out left in training
    assert load_data(spec, image_size=8, generator_data='train').train.image(0).shape == (8, 8, 3)

def test_unlabelled_test_split_is_left_out(tmp_path):
    tr, _ = toy(seed=1); te, _ = toy((2, 2, 2), seed=2)
    te = te.map(lambda r: {'label': -1})
    DatasetDict(train=tr, test=te).save_to_disk(str(tmp_path/'comp'))
    bench = load_data(f'hf:{tmp_path/"comp"}', generator_data='train')
    assert bench.test.counts().tolist() == [1, 1, 1] and any("unlabelled (every label -1), left out" in n for n in bench.info['notes'])

def test_importing_the_library_does_not_import_datasets():
    code = "import sys, synaug_nb, synaug_nb.specs, synaug_nb.hf_data; synaug_nb.load_data; print('datasets' in sys.modules)"
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip() == 'False'

def test_without_datasets_the_error_says_what_to_install(tmp_path, monkeypatch):
    toy()[0].save_to_disk(str(tmp_path/'pets'))
    monkeypatch.setitem(sys.modules, 'datasets', None)            # as if it were not installed
    with pytest.raises(DataError, match=r'needs the datasets package: pip install "synaug_nb\[hf\]"'): load_data(f'hf:{tmp_path/"pets"}')
