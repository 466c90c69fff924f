"Hostile data files (issue 27): pickles that run code, symbolic links, 16-bit and odd PIL modes, decompression bombs, specs with ':' and settings that would be ignored."
import os, pickle, re, warnings
import numpy as np
import pytest
from PIL import Image
from conftest import synaug_in_process as here
from synaug_nb.core import DataError, load_image
from synaug_nb.loaders import load_cifar, load_image_folder, read_pickle
from synaug_nb.specs import load_data, parse_spec
from synaug_nb.test_utils import write_cifar, write_image_folder, write_bomb_png

# --- 1. CIFAR pickles that would run a command ----------------------------------------------------
class RunsCommand:
    "Unpickling it would run `touch marker` (os.system) ..."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (os.system, (f"touch '{self.marker}'",))

class OpensFile:
    "... or create `marker` (builtins.open)."
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (open, (str(self.marker), 'w'))

def plant(root, fn, payload):
    "Replace the CIFAR-10 file `fn` under `root` by a pickle of a dict holding `payload`."
    (root/'cifar-10-batches-py'/fn).write_bytes(pickle.dumps({'data': payload, 'labels': [0]}))

@pytest.mark.parametrize('fn', ['data_batch_1', 'batches.meta'])
@pytest.mark.parametrize('evil', [RunsCommand, OpensFile])
def test_crafted_cifar_pickle_never_runs(tmp_path, fn, evil):
    root, marker = write_cifar(tmp_path/'c'), tmp_path/'pwned'
    plant(root, fn, evil(marker))
    glob = 'posix.system' if evil is RunsCommand else 'io.open'   # builtins.open pickles as io.open
    with pytest.raises(DataError, match=rf"{fn}' was refused unread: it names the global {glob}") as e: load_cifar(root, verify_md5=False)
    assert '\n' not in str(e.value) and not marker.exists()
    with pytest.raises(DataError, match=r"' differs from the official CIFAR10 release .*re-download") as e: load_cifar(root)   # toy files: none is official
    assert 'verify' not in str(e.value) and not marker.exists()      # the refusal does not advise switching the check off
    assert not marker.exists()

def test_crafted_cifar_pickle_through_the_command(tmp_path):
    root, marker = write_cifar(tmp_path/'c'), tmp_path/'pwned'
    plant(root, 'data_batch_3', RunsCommand(marker))
    r = here('profile', '--data', f'cifar10:{root}', '--no-verify', '--out', tmp_path/'out')
    assert r.returncode != 0 and 'posix.system' in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not marker.exists()

def test_cifar_in_every_pickle_flavour_reads_the_same(tmp_path):
    ref = load_cifar(write_cifar(tmp_path/'ref', 'cifar100', n_train=100), 'cifar100', verify_md5=False)
    for proto, bk in ((2, True), (2, False), (5, True)):
        ds = load_cifar(write_cifar(tmp_path/f'{proto}{bk}', 'cifar100', n_train=100, protocol=proto, bytes_keys=bk), 'cifar100', verify_md5=False)
        assert (ds.images.stack() == ref.images.stack()).all() and (ds.labels == ref.labels).all() and ds.classes == ref.classes
    assert ref.images.stack().shape == (100, 32, 32, 3) and ref.classes[:2] == ['class00', 'class01']

def test_cifar_batch_of_the_wrong_shape_or_type(tmp_path):
    root = write_cifar(tmp_path/'c')
    plant(root, 'data_batch_2', np.zeros((1, 3072), np.float32))
    with pytest.raises(DataError, match=r"data_batch_2': 'data' must be a uint8 array \(N, 3072\); got float32"): load_cifar(root, verify_md5=False)
    plant(root, 'data_batch_2', np.array([1, 2], dtype=object))
    with pytest.raises(DataError, match=r"'data' must be a uint8 array \(N, 3072\); got object array \(2,\)"): load_cifar(root, verify_md5=False)
    (root/'cifar-10-batches-py'/'data_batch_2').write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataError, match="data_batch_2' holds a list; a CIFAR file holds a dict"): load_cifar(root, verify_md5=False)
    (tmp_path/'junk.pkl').write_bytes(b'not a pickle at all')
    with pytest.raises(DataError, match="cannot read .*junk.pkl' as a pickle"): read_pickle(tmp_path/'junk.pkl')

# --- 3. symbolic links ----------------------------------------------------------------------------
def linked_folder(tmp_path):
    "Three classes, plus a link loop and an alias of 'cat' at the top, and a loop inside 'dog'."
    root = write_image_folder(tmp_path/'pets', n_per_class=[6, 4, 3])
    (root/'loop').symlink_to('.'); (root/'alias').symlink_to('cat'); (root/'dog'/'up').symlink_to('..')
    return root

def test_link_loop_and_alias_make_no_phantom_class(tmp_path):
    root = linked_folder(tmp_path)
    with pytest.warns(UserWarning) as w: ds = load_image_folder(root)
    assert ds.classes == ['cat', 'dog', 'fox'] and ds.counts().tolist() == [6, 4, 3]
    assert len(set(ds.images.paths)) == len(ds)
    msg = [str(x.message) for x in w if 'symbolic' in str(x.message)]
    assert len(msg) == 1 and '\n' not in msg[0] and "'alias'" in msg[0] and "'dog/up'" in msg[0] and "'loop'" in msg[0]
    assert sorted(ds.skipped['item']) == ['alias', 'dog/up', 'loop']

def test_linked_images_never_land_in_train_and_test(tmp_path):
    root = linked_folder(tmp_path)
    with warnings.catch_warnings(): warnings.simplefilter('ignore'); b = load_data(f'folder:{root}', test_frac=0.5, in_memory=False)
    real = lambda ds: {os.path.realpath(p) for p in ds.images.paths}
    assert b.train.classes == ['cat', 'dog', 'fox'] and not real(b.train) & real(b.test)
    assert len(real(b.train)) == len(b.train) and len(real(b.test)) == len(b.test)

def test_links_outside_the_folder(tmp_path):
    root = write_image_folder(tmp_path/'pets', ('cat', 'dog'), 2)
    far = write_image_folder(tmp_path/'far', ('owl',), 2)
    (root/'owl').symlink_to(far/'owl'); (root/'cat'/'again.png').symlink_to(far/'owl'/'owl_0000.png')
    with pytest.warns(UserWarning, match="skipped 2 symbolic links: 'cat/again.png' .*outside the folder"): ds = load_image_folder(root)
    assert ds.classes == ['cat', 'dog']
    with pytest.warns(UserWarning, match="skipped 1 symbolic links: 'owl/owl_0000.png' .*already read through another link"):
        ds = load_image_folder(root, outside_links=True)   # the farm of links loads; the image linked twice is read once
    assert ds.classes == ['cat', 'dog', 'owl'] and ds.counts().tolist() == [3, 2, 1]

def test_broken_link_is_named(tmp_path):
    root = write_image_folder(tmp_path/'pets', ('cat', 'dog'), 2)
    (root/'dog'/'gone.png').symlink_to(tmp_path/'nowhere.png')
    with pytest.warns(UserWarning, match="'dog/gone.png' \\(link that is broken or loops\\)"): ds = load_image_folder(root)
    assert ds.counts().tolist() == [2, 2]

# --- 4. 16-bit and other PIL modes ----------------------------------------------------------------
def test_16bit_grey_png_keeps_its_gradient(tmp_path):
    ramp = (np.arange(256, dtype=np.uint16) * 257).reshape(1, 256).repeat(4, 0)     # 0 .. 65535
    Image.fromarray(ramp).save(tmp_path/'g16.png')
    with Image.open(tmp_path/'g16.png') as im: assert im.mode in ('I;16', 'I')
    want = np.arange(256, dtype=np.uint8)
    assert (load_image(tmp_path/'g16.png')[2, :, 0] == want).all()
    assert (load_image(tmp_path/'g16.png', 'RGB')[2, :, 1] == want).all()
    (tmp_path/'f'/'a').mkdir(parents=True); (tmp_path/'f'/'b').mkdir()
    Image.fromarray(ramp).save(tmp_path/'f'/'a'/'x.png'); Image.fromarray(ramp[:, ::-1].copy()).save(tmp_path/'f'/'b'/'x.png')
    ds = load_image_folder(tmp_path/'f')
    assert (ds.image(0)[0, :, 0] == want).all() and (ds.image(1)[0, :, 0] == want[::-1]).all()

@pytest.mark.parametrize('mode, fmt, want', [
    ('1', 'png', [255, 255, 255]), ('L', 'png', [77, 77, 77]), ('LA', 'png', [77, 77, 77]), ('P', 'png', [77, 77, 77]),
    ('RGBA', 'png', [10, 20, 30]), ('CMYK', 'tiff', [10, 20, 30]), ('I', 'tiff', [77, 77, 77]), ('F', 'tiff', [128, 128, 128]),
    ('I;16B', 'tiff', [77, 77, 77])])
def test_every_pil_mode_loads_as_its_picture(tmp_path, mode, fmt, want):
    rgb = Image.new('RGB', (3, 2), (10, 20, 30))
    im = {'1': lambda: Image.new('1', (3, 2), 1), 'L': lambda: Image.new('L', (3, 2), 77), 'LA': lambda: Image.new('LA', (3, 2), (77, 0)),
          'P': lambda: Image.new('L', (3, 2), 77).convert('P'), 'RGBA': lambda: rgb.convert('RGBA'), 'CMYK': lambda: rgb.convert('CMYK'),
          'I': lambda: Image.fromarray(np.full((2, 3), 77 * 256, np.int32), 'I'),
          'F': lambda: Image.fromarray(np.full((2, 3), 0.5, np.float32), 'F'),
          'I;16B': lambda: Image.fromarray(np.full((2, 3), 77 * 256, np.uint16)).convert('I').convert('I;16B')}[mode]()
    p = tmp_path/f'x.{fmt}'; im.save(p)
    got = load_image(p, 'RGB')
    if mode == 'CMYK': assert np.abs(got[0, 0].astype(int) - want).max() <= 2
    else: assert got[0, 0].tolist() == want, (Image.open(p).mode, got[0, 0])

# --- 9. decompression bombs -----------------------------------------------------------------------
def test_bomb_is_refused_from_its_header(tmp_path):
    bomb = write_bomb_png(tmp_path/'bomb.png', 12000, 12000)       # 144 Mpx, 18 KB: 2.3 GB once decoded
    assert bomb.stat().st_size < 50_000
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')                               # Pillow's own DecompressionBombWarning
        with pytest.raises(DataError, match=r"bomb.png' declares 12000x12000 pixels \(144.0 Mpx\), over the limit of 64 Mpx") as e: load_image(bomb)
    assert '\n' not in str(e.value)

def test_bomb_past_pillows_limit_is_a_data_error(tmp_path):
    bomb = write_bomb_png(tmp_path/'huge.png', 20000, 20000)
    with pytest.raises(DataError, match=r"huge.png' refused as a possible decompression bomb: .*400000000 pixels"): load_image(bomb)

def test_bomb_in_a_folder_is_named_or_skipped(tmp_path, monkeypatch):
    import synaug_nb.core as core
    root = write_image_folder(tmp_path/'pets', ('cat', 'dog'), 3, size=16)
    Image.new('RGB', (64, 64)).save(root/'dog'/'big.png')
    monkeypatch.setattr(core, 'MAX_PIXELS', 1000)                     # a modest image trips a lowered limit
    with pytest.raises(DataError, match=r"big.png' declares 64x64 pixels"): load_image_folder(root)
    with pytest.warns(UserWarning, match=r"skipped 1 bad entries .*'[^']*big.png' \(image .* declares 64x64"): ds = load_image_folder(root, on_error='skip')
    assert ds.counts().tolist() == [3, 3]

# --- 8. specs with ':' ----------------------------------------------------------------------------
def test_folder_path_with_a_colon_loads(tmp_path):
    root = write_image_folder(tmp_path/'run:3'/'pets', ('cat', 'dog'), 4)
    assert parse_spec(f'folder:{root}').args == (str(root),)
    b = load_data(f'folder:{root}', generator_data='train')
    assert b.train.classes == ['cat', 'dog'] and len(b.train) + len(b.test) == 8

def test_list_root_with_a_colon(tmp_path):
    from synaug_nb.test_utils import write_imagenet_lt
    root = write_imagenet_lt(tmp_path/'in:lt')
    assert parse_spec(f'list:{root}:ImageNet_LT_train.txt').args == (str(root), 'ImageNet_LT_train.txt')
    b = load_data(f'list:{root}:ImageNet_LT_train.txt:ImageNet_LT_test.txt', generator_data='train')
    assert b.train.counts().tolist() == [6, 3, 1]

# --- 7. settings that would be ignored ------------------------------------------------------------
def test_test_frac_out_of_range_is_refused_on_every_kind(tmp_path):
    c = write_cifar(tmp_path/'c')
    for spec in (f'cifar10:{c}', f'folder:{write_image_folder(tmp_path/"f")}', 'digits'):
        with pytest.raises(DataError, match=r'test_frac must be a number in \(0, 1\); got 1.5'): load_data(spec, test_frac=1.5, verify=False)

def test_test_frac_on_data_with_its_own_test_split_is_refused(tmp_path):
    write_image_folder(tmp_path/'f'/'train', ('a', 'b'), 3); write_image_folder(tmp_path/'f'/'test', ('a', 'b'), 2)
    for spec in (f'cifar10:{write_cifar(tmp_path/"c")}', f'folder:{tmp_path/"f"}', 'digits'):
        with pytest.raises(DataError, match=r"test_frac=0.3 cannot apply: the data .* has its own test split"): load_data(spec, test_frac=0.3, verify=False)
    b = load_data(f'folder:{tmp_path/"f"}', generator_data='train')     # left out: the folder's own test split
    assert b.test.counts().tolist() == [2, 2]

@pytest.mark.parametrize('n_max', [0, -3, 2.5])
def test_bad_n_max_is_refused(n_max):
    with pytest.raises(DataError, match=rf"n_max must be an integer >= 1; got {n_max}"): load_data('digits', n_max=n_max)

def test_n_max_without_a_long_tail_is_refused(tmp_path):
    root = write_image_folder(tmp_path/'f', n_per_class=4)
    with pytest.raises(DataError, match=r"n_max=2 shape a long-tail cut, and none is made \(imbalance_factor is None\)"): load_data(f'folder:{root}', n_max=2)
    b = load_data(f'folder:{root}', n_max=3, imbalance_factor=3, generator_data='train')
    assert b.train.counts().max() == 3

def test_cli_reports_ignored_settings_in_one_line(tmp_path):
    c = write_cifar(tmp_path/'c')
    for args, msg in ((('--test-frac', '1.5'), r'test.frac must be a number in \(0, 1\); got 1.5'), (('--test-frac', '0.5'), 'has its own test split'),
                      (('--n-max', '0'), r'n.max must be an integer >= 1; got 0')):   # the command may check first (--test-frac) or the library (test_frac)
        r = here('profile', '--data', f'cifar10:{c}', '--no-verify', '--out', tmp_path/'o', *args)
        assert r.returncode != 0 and re.search(msg, r.stderr) and len(r.stderr.strip().splitlines()) == 1, r.stderr
