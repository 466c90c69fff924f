"Every data spec kind through the `synaug` command, on files in the real formats (written by `synaug_nb.test_utils`), and the wrong specs it refuses before any work."
import json
from pathlib import Path
import pytest
from PIL import Image
from conftest import synaug_in_process as here, synaug_process as proc   # `here(...)`: the same command in this process; `proc(...)`: the console script
from synaug_nb.test_utils import write_image_folder, write_cifar, write_imagenet_lt, write_utkface, write_waterbirds

def profile(out, *args):
    "`synaug profile` in this process (`test_cli` runs it as the console script)."
    r = here('profile', '--out', out, *args)
    assert r.returncode == 0, r.stderr
    return json.loads((Path(out)/'profile.json').read_text()), r

def counts(res): return list(res['train']['counts'].values())

def test_folder_with_held_out_test(tmp_path):
    root = write_image_folder(tmp_path/'pets', ('cat', 'dog', 'fox'), n_per_class=[20, 6, 2], size=16)
    res, r = profile(tmp_path/'p', '--data', f'folder:{root}')
    assert res['dataset'] == f'folder:{root}' and res['task'] == 'longtail'
    assert counts(res) == [16, 5, 1] and res['n_test'] == 6           # 20% of each class, at least one
    assert 'stratified hold-out' in r.stdout and 'the training set itself' in r.stdout

def test_folder_with_train_and_test(tmp_path):
    write_image_folder(tmp_path/'d'/'train', ('a', 'b'), n_per_class=[9, 3], size=16)
    write_image_folder(tmp_path/'d'/'test', ('a', 'b'), n_per_class=2, size=16)
    res, _ = profile(tmp_path/'p', '--data', f'folder:{tmp_path/"d"}')
    assert counts(res) == [9, 3] and res['n_test'] == 4

def test_cifar_long_tail_and_generator_holdout(tmp_path):
    root = write_cifar(tmp_path/'c', 'cifar10', n_train=500, n_test=50)      # 50 per class
    res, r = profile(tmp_path/'p', '--data', f'cifar10:{root}', '--no-verify', '--imbalance-factor', '10')
    c = counts(res)
    assert c[0] == 50 and c[-1] == 5 and c == sorted(c, reverse=True) and res['n_test'] == 50
    # the head class keeps all 50 images: nothing balanced is left for the generator, which trains on the training set
    assert 'the training set itself' in r.stdout and res['n_holdout'] == sum(c)

def test_cifar100_and_experiment_key(tmp_path):
    root = write_cifar(tmp_path/'c', 'cifar100', n_train=2000, n_test=200)
    res, _ = profile(tmp_path/'p', '--data', f'cifar100:{root}', '--no-verify', '--imbalance-factor', '10')
    assert len(counts(res)) == 100 and counts(res)[0] == 20 and counts(res)[-1] == 2
    res2, _ = profile(tmp_path/'q', '--data', f'cifar100_lt:{root}', '--no-verify', '--imbalance-factor', '10', '--n-max', '20')
    assert counts(res2) == counts(res) and res2['n_test'] == 200

def test_list_files(tmp_path):
    root = write_imagenet_lt(tmp_path/'inet', counts=(6, 3, 2), n_test=2)
    res, _ = profile(tmp_path/'p', '--data', f'list:{root}:ImageNet_LT_train.txt:ImageNet_LT_test.txt')
    assert counts(res) == [6, 3, 2] and res['n_test'] == 6
    res, _ = profile(tmp_path/'q', '--data', f'list:{root}:ImageNet_LT_train.txt')   # no test list: held out
    assert counts(res) == [5, 2, 1] and res['n_test'] == 3

def test_utkface_and_waterbirds_are_group_tasks(tmp_path):
    res, _ = profile(tmp_path/'p', '--data', f'utkface:{write_utkface(tmp_path/"u", n=40)}')
    assert res['task'] == 'fairness' and 'cells' in res['train'] and res['n_test'] == 8
    res, r = profile(tmp_path/'q', '--data', f'waterbirds:{write_waterbirds(tmp_path/"w", n=48)}')
    assert res['task'] == 'spurious' and res['n_test'] == 16 and res['n_holdout'] == 16 and 'validation split' in r.stdout

@pytest.mark.parametrize('make,spec,msg', [
    (None, 'foldr:x', "unknown data spec kind 'foldr'"),
    (None, 'folder:/no/such/folder', "'/no/such/folder' not found"),
    (None, 'list:/tmp', 'list:ROOT:TRAIN[:TEST]'),
    ('no_test_image', 'folder:{}', "missing: ['b']"),
    ('one_class', 'folder:{}', 'at least two'),
    ('mixed', 'folder:{}', 'different sizes'),
])
def test_wrong_specs_fail_before_any_work(tmp_path, make, spec, msg):
    d = tmp_path/'d'
    if make == 'no_test_image':
        write_image_folder(d/'train', ('a', 'b'), 3, size=16); write_image_folder(d/'test', ('a',), 2, size=16)
    elif make == 'one_class': write_image_folder(d, ('a',), 6, size=16)
    elif make == 'mixed':
        write_image_folder(d, ('a', 'b'), 4, size=16); Image.new('RGB', (20, 12)).save(d/'a'/'odd.png')
    out = tmp_path/'out'
    r = here('run', '--quick', '--data', spec.format(d), '--out', out)
    assert r.returncode == 1 and msg in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr
    assert not (out/'generator').exists() and not (out/'results.json').exists()    # nothing trained, nothing written

def test_generator_data_with_other_classes_is_refused(tmp_path):
    mine = write_image_folder(tmp_path/'mine', ('cat', 'dog'), 6, size=16)
    other = write_image_folder(tmp_path/'other', ('cat', 'cow'), 6, size=16)
    r = here('train', '--data', f'folder:{mine}', '--generator-data', f'folder:{other}', '--steps', 5, '--out', tmp_path/'t')
    assert r.returncode == 1 and "unknown: ['cow']" in r.stderr and "missing: ['dog']" in r.stderr, r.stderr
    assert not (tmp_path/'t').exists()

def test_root_that_is_not_fashion_mnist_is_an_error(tmp_path):
    folder = write_image_folder(tmp_path/'pets', n_per_class=4, size=16)
    r = here('profile', '--root', folder, '--out', tmp_path/'p')   # used to profile scikit-learn digits silently
    assert r.returncode == 1 and 'Fashion-MNIST idx files' in r.stderr and str(folder) in r.stderr
    assert not (tmp_path/'p'/'profile.json').exists()

def test_run_on_an_image_folder_end_to_end(tmp_path):
    "`synaug run --data folder:PATH`: a 32 px colour folder, mixed sizes resized by --image-size, a separate generator folder."
    mine = write_image_folder(tmp_path/'mine', ('cat', 'dog', 'fox'), n_per_class=[40, 12, 5], size=40)
    Image.new('L', (48, 36), 80).save(mine/'fox'/'grey_wide.png')                 # another size and mode
    gen = write_image_folder(tmp_path/'gen', ('cat', 'dog', 'fox'), n_per_class=10, size=32, seed=7)
    out = tmp_path/'run'
    r = proc('run', '--quick', '--data', f'folder:{mine}', '--generator-data', f'folder:{gen}', '--image-size', 32,
            '--methods', 'ce', 'balanced_softmax', 'synaug', 'oracle', '--out', out, timeout=900)
    assert r.returncode == 0, r.stderr
    res = json.loads((out/'results.json').read_text())
    assert list(res['methods']) == ['ce', 'balanced_softmax', 'synaug', 'oracle']
    assert res['train_counts'] == [32, 10, 5] and res['n_test'] == 11
    assert res['config']['image_size'] == 32 and res['config']['generator_data'] == f'folder:{gen}'
    assert len(list((out/'synthetic'/'plain').rglob('*.png'))) == res['n_synthetic'] == (32 - 10) + (32 - 5)
    im = Image.open(next((out/'synthetic'/'plain').rglob('*.png')))
    assert im.size == (32, 32) and im.mode == 'RGB'
    assert (out/'report.html').is_file() and 'ce' in r.stdout

@pytest.mark.parametrize('backend', ['sd', 'unclip'])
def test_run_with_a_diffusers_checkpoint(tmp_path, backend):
    "`synaug run --backend sd|unclip --checkpoint CKPT` on a folder: the same comparison, synthetic images from the checkpoint, resized to the real ones; feedback guidance through the VAE decode."
    from synaug_nb.tiny import tiny_sd_pipeline, tiny_unclip_pipeline, save_tiny_checkpoint
    ckpt = save_tiny_checkpoint((tiny_sd_pipeline if backend == 'sd' else tiny_unclip_pipeline)(seed=0), tmp_path/'ckpt')
    mine = write_image_folder(tmp_path/'mine', ('cat', 'dog'), n_per_class=[10, 4], size=16)
    out = tmp_path/'run'
    r = proc('run', '--quick', '--data', f'folder:{mine}', '--backend', backend, '--checkpoint', ckpt,
            '--methods', 'ce', 'synaug', 'fg_entropy', '--out', out, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out/'results.json').read_text())
    assert list(res['methods']) == ['ce', 'synaug', 'fg_entropy'] and res['config']['backend'] == backend
    for name in ('plain', 'fg_entropy'):
        settings = json.loads((out/'synthetic'/name/'run.json').read_text())
        assert settings['backend'] == backend and settings['model_id'] == str(ckpt)
        pngs = list((out/'synthetic'/name).rglob('*.png'))
        assert len(pngs) == res['n_synthetic'] == 8 - 3 and Image.open(pngs[0]).size == (32, 32)   # written at the checkpoint's size
    assert f'{backend} generator ready' in r.stdout
    assert res['domain_probe_accuracy'] is None and any('no domain-gap diagnostics' in n for n in res['data_notes'])   # too few images to probe: said, not fatal

def test_one_class_folder_is_refused_before_training(tmp_path):
    "Issue 12: a one-class folder used to train to '100% accuracy' without a word; every command refuses it now, naming the class."
    one = write_image_folder(tmp_path/'one', ('cat',), n_per_class=12, size=16)
    for cmd in (('train', '--steps', 5), ('run', '--quick')):
        r = here(*cmd, '--data', f'folder:{one}', '--out', tmp_path/cmd[0])
        assert r.returncode == 1 and "has one class (['cat']); a classifier needs at least two" in r.stderr, r.stderr
        assert not (tmp_path/cmd[0]/'report.json').exists() and not (tmp_path/cmd[0]/'results.json').exists()

def test_no_generator_warning_when_no_row_makes_images(tmp_path):
    "A folder without a disjoint balanced part: the generator would train on the training set. Rows that make no images are run without that warning; the note stays in results.json."
    root = write_image_folder(tmp_path/'pets', ('cat', 'dog', 'fox'), n_per_class=[20, 6, 3], size=8)
    args = ['run', '--quick', '--data', f'folder:{root}', '--quiet', '--set', 'train_steps=3', 'ft_steps=2', 'batch_size=8', 'gen_steps=2', 'ddim_steps=2']
    r = here(*args, '--methods', 'ce', 'balanced_softmax', '--out', tmp_path/'a')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'generator data: the training set itself' not in r.stderr, r.stderr
    notes = json.loads((tmp_path/'a'/'results.json').read_text())['benchmark']['notes']
    assert any('generator data: the training set itself' in n for n in notes), notes
    r = here(*args, '--methods', 'ce', 'synaug_plain', '--gate', 'off', '--out', tmp_path/'b')
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'warning: generator data: the training set itself' in r.stderr, r.stderr   # a row that makes images: warned
