"Bad input across the data layer: each case gets a DataError naming the value and what is valid, or, when asked, a report."
import numpy as np
import pytest
from synaug_nb.core import DataError
from synaug_nb.data import ImageSet
from synaug_nb.imbalance import make_long_tail, balanced_split, subsample_cells
from synaug_nb.loaders import (load_image_folder, load_waterbirds, load_utkface, load_list_file, load_fashion_mnist,
                               load_cifar, read_idx)
from synaug_nb.test_utils import (write_image_folder, write_waterbirds, write_utkface, write_imagenet_lt,
                                  write_fashion_mnist, write_cifar)

def corrupt(path): path.write_bytes(path.read_bytes()[:40])   # a truncated image file

# --- missing files -------------------------------------------------------------------------------
@pytest.mark.parametrize('load', [
    lambda p: load_image_folder(p), lambda p: load_waterbirds(p), lambda p: load_utkface(p),
    lambda p: load_list_file(p, 'ImageNet_LT_train.txt'), lambda p: load_fashion_mnist(p), lambda p: load_cifar(p)])
def test_missing_dataset_names_the_path(tmp_path, load):
    with pytest.raises(DataError, match='nowhere'): load(tmp_path/'nowhere')

def test_missing_image_listed_in_metadata(tmp_path):
    root = write_waterbirds(tmp_path/'wb', n=9)
    victim = next((root).rglob('bird_0000.jpg')); victim.unlink()
    with pytest.raises(DataError, match='bird_0000.jpg'): load_waterbirds(root, 'train')
    with pytest.warns(UserWarning, match='skipped 1'): ds = load_waterbirds(root, 'train', on_error='skip')
    assert len(ds) == 2 and ds.skipped['item'].str.contains('bird_0000').all()

def test_missing_image_in_list_file(tmp_path):
    root = write_imagenet_lt(tmp_path/'in')
    next(root.glob('train/*/*_0.JPEG')).unlink()
    with pytest.raises(DataError, match=r"line 1: image .*_0.JPEG' not found"): load_list_file(root, 'ImageNet_LT_train.txt')

# --- corrupted images ----------------------------------------------------------------------------
def test_corrupted_image_everywhere(tmp_path):
    cases = [
        (write_image_folder(tmp_path/'f', n_per_class=3), lambda r, **k: load_image_folder(r, **k)),
        (write_waterbirds(tmp_path/'w', n=12), lambda r, **k: load_waterbirds(r, 'all', **k)),
        (write_utkface(tmp_path/'u', n=8), lambda r, **k: load_utkface(r, drop_races=(), **k)),
        (write_imagenet_lt(tmp_path/'i'), lambda r, **k: load_list_file(r, 'ImageNet_LT_train.txt', **k))]
    for root, load in cases:
        ds0 = load(root); n = len(ds0)
        from pathlib import Path
        victim = Path(ds0.images.paths[0])
        corrupt(victim)
        with pytest.raises(DataError, match=f"cannot read image .*{victim.name}"): load(root)
        with pytest.warns(UserWarning, match='skipped 1 bad'): ds = load(root, on_error='skip')
        assert len(ds) == n - 1 and victim.name in ds.skipped['item'][0]

def test_corrupted_image_found_lazily_without_verify(tmp_path):
    root = write_image_folder(tmp_path/'f', n_per_class=2)
    corrupt(root/'cat'/'cat_0000.png')
    ds = load_image_folder(root, verify=False)
    with pytest.raises(DataError, match='cat_0000.png'): ds[0]
    assert ds[1][0].shape == (3, 16, 16)

def test_corrupted_idx(tmp_path):
    root = write_fashion_mnist(tmp_path/'fm', n_train=10)
    p = root/'train-images-idx3-ubyte.gz'
    import gzip
    raw = gzip.open(p).read(); gzip.open(p, 'wb').write(raw[:-7])
    with pytest.raises(DataError, match='truncated or padded'): load_fashion_mnist(root)
    p.write_bytes(b'not gzip at all')
    with pytest.raises(DataError, match='cannot read idx file'): read_idx(p)

# --- malformed names and rows --------------------------------------------------------------------
def test_malformed_utkface_names(tmp_path):
    root = write_utkface(tmp_path/'u', n=6)
    src = next(root.iterdir()).read_bytes()
    (root/'25_3_1_20170116174525125.jpg.chip.jpg').write_bytes(src)    # gender 3
    with pytest.raises(DataError, match=r"gender=3.*valid: age 0..130, gender 0..1, race 0..4"): load_utkface(root)
    with pytest.warns(UserWarning, match='skipped 1'): ds = load_utkface(root, on_error='skip')
    assert '25_3_1' in ds.skipped['item'][0]

@pytest.mark.parametrize('row,msg', [(',,,', r"row 2: y=''"), ('1,001.Sparrow/bird_0000.jpg,1,5,0,x', r"row 2: split='5' is not one of \[0, 1, 2\]"),
                                     ('1,001.Sparrow/bird_0000.jpg,dog,0,0,x', r"row 2: y='dog'")])
def test_malformed_waterbirds_rows(tmp_path, row, msg):
    root = write_waterbirds(tmp_path/'w', n=3)
    lines = (root/'metadata.csv').read_text().splitlines()
    (root/'metadata.csv').write_text('\n'.join([lines[0], row] + lines[2:]) + '\n')
    with pytest.raises(DataError, match=msg): load_waterbirds(root)

def test_malformed_list_file_can_be_skipped_with_report(tmp_path):
    root = write_imagenet_lt(tmp_path/'i')
    lf = root/'ImageNet_LT_train.txt'
    lf.write_text(lf.read_text() + 'train/n01440764/n01440764_0.JPEG -3\n')
    with pytest.raises(DataError, match='line 11'): load_list_file(root, lf.name)
    with pytest.warns(UserWarning): ds = load_list_file(root, lf.name, on_error='skip')
    assert len(ds) == 10 and len(ds.skipped) == 1

def test_cifar_checksums(tmp_path):
    root = write_cifar(tmp_path/'c')
    with pytest.raises(DataError, match='official MD5'): load_cifar(root)
    (root/'cifar-10-batches-py'/'data_batch_3').unlink()
    with pytest.raises(DataError, match=r"files \['data_batch_3'\] missing"): load_cifar(root, verify_md5=False)

# --- classes, counts and numbers -----------------------------------------------------------------
@pytest.fixture
def toy():
    x = np.zeros((60, 4, 4), np.uint8)
    return ImageSet(x, np.repeat([0, 1, 2], 20), ['a', 'b', 'c'], groups=np.tile([0, 1], 30), group_names=['g', 'h'])

def test_unknown_class_and_group(toy):
    with pytest.raises(DataError, match=r"unknown class 'z'; valid: \['a', 'b', 'c'\]"): toy.select(classes=['z'])
    with pytest.raises(DataError, match=r"unknown group 'x'; valid: \['g', 'h'\]"): toy.select(groups=['x'])
    with pytest.raises(DataError, match='class index 7 is out of range; valid: 0..2'): toy.class_idx(7)
    with pytest.raises(DataError, match='unknown class'): make_long_tail(toy, 2, class_order=['c', 'b', 'q'])

def test_empty_class(tmp_path, toy):
    with pytest.raises(DataError, match=r"classes \['c'\] have no images"): make_long_tail(toy.select(classes=['a', 'b']), 2)
    root = write_image_folder(tmp_path/'f'); (root/'empty').mkdir()
    with pytest.raises(DataError, match="class folder .*empty' has no images"): load_image_folder(root)

@pytest.mark.parametrize('bad', [0.99, 0, -5, float('nan'), float('inf')])
def test_imbalance_factor_below_one(toy, bad):
    with pytest.raises(DataError, match=r'imbalance_factor \(largest / smallest class\) must be a finite number >= 1'): make_long_tail(toy, bad)

def test_wrong_shapes_and_counts(toy):
    with pytest.raises(DataError, match=r'\(N,H,W\), \(N,H,W,1\) or \(N,H,W,3\); got shape \(3, 4, 4, 2\)'):
        ImageSet(np.zeros((3, 4, 4, 2), np.uint8), [0, 0, 0], ['a'])
    with pytest.raises(DataError, match=r'cells must have shape \(n_classes, n_groups\) = \(3, 2\); got \(2, 2\)'):
        subsample_cells(toy, np.ones((2, 2)))
    with pytest.raises(DataError, match="class 'a' has 20 images but 21 were asked for"): balanced_split(toy, 21)
    with pytest.raises(DataError, match=r'group 5 at position 1 is out of range; valid: -1..1'):
        ImageSet(np.zeros((2, 4, 4), np.uint8), [0, 0], ['a'], groups=[0, 5], group_names=['g', 'h'])
