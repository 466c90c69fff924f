"Hostile input to synthetic folders (issue 27): edited manifests, damaged run.json, absurd targets, resumes with other image settings, and checks made before any generator is trained."
import csv, errno, io, json, os, shutil
import numpy as np
import pytest
from synaug_nb.core import DataError, StorageError
from synaug_nb.data import ImageSet
from synaug_nb.generators import PixelGenerator
from synaug_nb.pixel_diffusion import PixelDiffusion
from synaug_nb.plan import Plan, uniformize, MAX_PLAN_IMAGES
from synaug_nb.prompts import default_book
from synaug_nb.synthesize import (synthesize, read_manifest, load_synthetic, dropped_set, filter_summary, check_plan_fits,
                                  preflight, folder_lock, run_settings, MANIFEST_COLUMNS)
from synaug_nb.test_utils import toy_images
from synaug_nb.tiny import tiny_sd_pipeline
from synaug_nb.diffusers_backends import SDGenerator

PLAN = Plan(['a', 'b', 'c'], None, 'class', [5, 2, 0], [5, 5, 5], seed=3)   # items 0-2: class b, 3-7: class c

@pytest.fixture(scope='module')
def gen():
    m = PixelDiffusion.build(['a', 'b', 'c'], size=8, widths=(8, 16), seed=0, prediction_type='v_prediction')
    return PixelGenerator(m, device='cpu')

@pytest.fixture(scope='module')
def made(gen, tmp_path_factory):
    "A finished folder, made once; each test works on a copy."
    out = tmp_path_factory.mktemp('made')/'s'
    synthesize(PLAN, gen, out, steps=2, batch_size=4, progress=False)
    return out

@pytest.fixture
def folder(made, tmp_path):
    out = tmp_path/'s'; shutil.copytree(made, out); return out

def run(gen, out, **kw): return synthesize(PLAN, gen, out, steps=2, batch_size=4, progress=False, **kw)
def mf(out): return out/'manifest-000-of-001.csv'

def edit_row(out, index, **changes):
    "Change fields of the manifest row of `index` (as a hand edit would); returns its line number."
    rows = list(csv.reader(io.StringIO(mf(out).read_text(), newline='')))
    k = next(i for i, r in enumerate(rows) if i and r[0] == str(index))
    for c, v in changes.items(): rows[k][MANIFEST_COLUMNS.index(c)] = v
    buf = io.StringIO(); csv.writer(buf).writerows(rows); mf(out).write_text(buf.getvalue())
    return k + 1

def files(out): return {p: p.read_bytes() for p in sorted(out.rglob('*')) if p.is_file()}

# --- finding 2: a manifest is checked against its plan on every read ---

def test_edited_class_is_refused_on_resume_and_on_load(gen, folder):
    line = edit_row(folder, 4, cls='1', class_name='b')                    # item 4 is of class c
    before = files(folder)
    for read in (lambda: run(gen, folder), lambda: load_synthetic(folder), lambda: read_manifest(folder),
                 lambda: dropped_set(folder), lambda: filter_summary(folder), lambda: preflight(folder)):
        with pytest.raises(DataError, match=rf"manifest-000-of-001.csv' line {line} \(index 4\): cls is 1, but the plan puts item 4 in cls 2;") as e:
            read()
        assert '\n' not in str(e.value)
    assert files(folder) == before                                          # nothing made, nothing rewritten

def test_edited_class_name_alone_is_refused(folder):
    edit_row(folder, 0, class_name='c')
    with pytest.raises(DataError, match=r"\(index 0\): class_name is 'c', but the plan puts item 0 in class_name 'b'"): load_synthetic(folder)

@pytest.mark.parametrize('bad,why', [('/etc/passwd', 'is an absolute path'), ('../../elsewhere/0000003.png', r"leaves the folder \('..'\)"),
                                     ('images/0000/0000004.png', "is not item 3's image"), ('', "is not item 3's image")])
def test_file_outside_or_of_another_item_is_refused(folder, bad, why):
    line = edit_row(folder, 3, file=bad)
    with pytest.raises(DataError, match=rf"line {line} \(index 3\): file '{bad}' {why}.*; expected 'images/0000/0000003.png' inside the folder"):
        load_synthetic(folder)

def test_symlink_out_of_the_folder_is_refused(folder, tmp_path):
    elsewhere = tmp_path/'elsewhere'; shutil.copytree(folder/'images'/'0000', elsewhere)
    shutil.rmtree(folder/'images'/'0000'); (folder/'images'/'0000').symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(DataError, match=r"\(index 0\): file 'images/0000/0000000.png' leads through the link .* outside the folder"): load_synthetic(folder)
    shutil.rmtree(folder/'images'); (folder/'images'/'0000').mkdir(parents=True)
    for p in elsewhere.iterdir(): shutil.copy(p, folder/'images'/'0000'/p.name)
    (folder/'images'/'0000'/'0000006.png').unlink(); (folder/'images'/'0000'/'0000006.png').symlink_to(elsewhere/'0000006.png')
    with pytest.raises(DataError, match=r"\(index 6\): file 'images/0000/0000006.png' leads through the link"): load_synthetic(folder)

def test_swapped_header_is_refused_and_the_file_kept(gen, folder):
    text = mf(folder).read_text(); head, rest = text.split('\n', 1)
    mf(folder).write_text(head.replace('cls,class_name', 'class_name,cls') + '\n' + rest)
    before = mf(folder).read_bytes()
    for read in (lambda: run(gen, folder), lambda: load_synthetic(folder)):
        with pytest.raises(DataError, match=r"line 1: not a synaug manifest header \(column 3 is 'class_name', expected 'cls'\); expected the header index,file,cls,"):
            read()
    assert mf(folder).read_bytes() == before                               # never rewritten from what was found

def test_older_header_still_resumes(gen, folder):
    "A header an earlier version wrote (before filtering) is not an edit: its rows keep their fields, the new columns are empty."
    rows = list(csv.DictReader(io.StringIO(mf(folder).read_text())))
    old = MANIFEST_COLUMNS[:MANIFEST_COLUMNS.index('attempt')]
    buf = io.StringIO(); w = csv.DictWriter(buf, old, extrasaction='ignore'); w.writeheader(); w.writerows(rows); mf(folder).write_text(buf.getvalue())
    assert len(load_synthetic(folder)) == PLAN.total and run(gen, folder).made == 0

def test_edited_plan_in_run_json_is_refused(folder):
    rj = folder/'run.json'; run_ = json.loads(rj.read_text()); run_['plan']['target'] = [5, 6, 4]
    rj.write_text(json.dumps(run_))
    with pytest.raises(DataError, match=r"run.json' records plan fingerprint '[0-9a-f]{16}' but holds a plan of fingerprint [0-9a-f]{16}: it was edited"):
        load_synthetic(folder)

# --- finding 8: damaged JSON names its file; a target too large to plan ---

def test_truncated_run_json_is_named(gen, folder):
    rj = folder/'run.json'; rj.write_bytes(rj.read_bytes()[:40])
    for read in (lambda: load_synthetic(folder), lambda: run(gen, folder), lambda: check_plan_fits(folder, None), lambda: preflight(folder)):
        with pytest.raises(DataError, match=rf"'{rj}' is not valid JSON \(line \d+, column \d+: .*\); it was cut short or edited: delete the folder"):
            read()

def test_huge_target_is_refused_before_allocation(gen, tmp_path):
    real = ImageSet(toy_images(np.repeat([0, 1], [5, 2]), 4), np.repeat([0, 1], [5, 2]), ['a', 'b'], name='toy')
    with pytest.raises(DataError, match=r"^target 1,000,000,000,000 would mean 1,999,999,999,993 synthetic images for 'toy'; a plan lists at most "
                                        r"10,000,000 \(MAX_PLAN_IMAGES\): the largest target \(or cap\) accepted here is 5,000,003$"):
        uniformize(real, target=1e12)
    assert uniformize(real, target=5_000_003).total <= MAX_PLAN_IMAGES < uniformize(real, target=5_000_003).total + 2
    with pytest.raises(DataError, match='the largest target'): uniformize(real, target=1e30)           # no overflow on the way
    assert uniformize(real, target=1e12, cap=50).total == 45 + 48
    with pytest.raises(DataError, match=r"this plan lists 2,999,999,999,993 synthetic images"):   # a plan written by hand
        synthesize(Plan(['a', 'b', 'c'], None, 'class', [5, 2, 0], [10**12] * 3), gen, tmp_path/'never')
    assert not (tmp_path/'never').exists()

# --- finding 7: a resume with another image size or negative prompt is refused ---

SD_REAL = ImageSet(toy_images(np.repeat([0, 1], [3, 2]), 32, 3), np.repeat([0, 1], [3, 2]), ['cat', 'dog'], name='real')

def sd_run(g, out): return synthesize(uniformize(SD_REAL), g, out, prompts=default_book(), steps=2, batch_size=1, progress=False)

@pytest.fixture(scope='module')
def sd_made(tmp_path_factory):
    "A tiny-SD folder of 32-pixel images, made once; its one image removed, so a resume has something to make."
    pipe, out = tiny_sd_pipeline(seed=0), tmp_path_factory.mktemp('sd')/'sd'
    sd_run(SDGenerator(pipe, device='cpu', model_id='tiny-sd'), out)
    assert json.loads((out/'run.json').read_text())['generator_settings'] == {'height': 32, 'width': 32, 'negative_prompt': ''}
    (out/'images'/'0000'/'0000000.png').unlink()
    return pipe, out

@pytest.mark.parametrize('other,setting,was,now', [(dict(height=48, width=48), 'height', '32', '48'),
                                                   (dict(negative_prompt='blurry'), 'negative_prompt', "''", "'blurry'")])
def test_sd_resume_with_other_image_settings_is_refused(sd_made, tmp_path, other, setting, was, now):
    pipe, out = sd_made[0], tmp_path/'sd'; shutil.copytree(sd_made[1], out)
    before = files(out)
    with pytest.raises(DataError, match=rf"differs in \['generator_settings'\]; generator_settings.{setting}: the folder's {was}, now {now}"):
        sd_run(SDGenerator(pipe, device='cpu', model_id='tiny-sd', **other), out)
    assert files(out) == before                                             # refused before anything was made or written

def test_pixel_folder_written_before_settings_were_recorded_resumes(gen, folder):
    rj = folder/'run.json'; run_ = json.loads(rj.read_text()); assert run_['generator_settings'] == {'image_size': 8, 'channels': 1}
    del run_['generator_settings']; rj.write_text(json.dumps(run_))
    assert run(gen, folder).made == 0 and json.loads(rj.read_text())['generator_settings'] == {'image_size': 8, 'channels': 1}
    big = PixelGenerator(PixelDiffusion.build(['a', 'b', 'c'], size=16, widths=(8, 16), seed=0), device='cpu')
    with pytest.raises(DataError, match=r"generator_settings.image_size: the folder's 8, now 16"): run(big, folder)

# --- finding 5: preflight, before any generator is trained ---

def test_preflight_refuses_a_path_under_a_file(tmp_path):
    f = tmp_path/'file'; f.write_text('x')
    with pytest.raises(DataError, match=rf"output folder '{f}/out' cannot be made: '{f}' is a file"): preflight(f/'out')
    with pytest.raises(DataError, match=rf"'{f}' is a file"): preflight(f)

def test_preflight_refuses_a_read_only_folder(tmp_path, monkeypatch):
    ro = tmp_path/'ro'; ro.mkdir()
    _open = os.open
    def read_only(path, *a, **k):   # as a read-only mount answers (chmod would not stop root)
        if str(path).startswith(str(ro)): raise OSError(errno.EROFS, 'Read-only file system')
        return _open(path, *a, **k)
    monkeypatch.setattr(os, 'open', read_only)
    with pytest.raises(StorageError, match='the file system is read-only'): preflight(ro)
    assert list(ro.iterdir()) == []

def test_preflight_refuses_a_locked_folder(tmp_path):
    out = tmp_path/'locked'
    with folder_lock(out):
        with pytest.raises(DataError, match=rf"output folder '{out}' is being written by pid {os.getpid()}"): preflight(out)
        preflight(out, rank=1, world_size=2)                                # another shard is free
    assert preflight(out) == out                                            # released

def test_preflight_refuses_other_settings_without_writing(made, tmp_path):
    out = tmp_path/'s'; shutil.copytree(made, out); before = files(out)
    other = uniformize(ImageSet(toy_images([0, 1, 2], 4), [0, 1, 2], ['a', 'b', 'c']), target=4)
    with pytest.raises(DataError, match=r"holds another plan's manifest \(differs in \['plan', 'plan_fingerprint'\]; plan [0-9a-f]{16} vs [0-9a-f]{16}\)"):
        preflight(out, {'plan_fingerprint': other.fingerprint(), 'plan': other.to_dict()})
    with pytest.raises(DataError, match=r"differs in \['steps'\]; steps: the folder's 2, now 25"):
        preflight(out, {'plan_fingerprint': PLAN.fingerprint(), 'steps': 25})
    with pytest.raises(DataError, match=r"unknown run settings \['step'\]"): preflight(out, {'step': 2})
    preflight(out, {'plan_fingerprint': PLAN.fingerprint(), 'plan': PLAN.to_dict(), 'steps': 2, 'guidance_scale': 2.0, 'batch_size': 4})
    assert {p: b for p, b in files(out).items() if '.lock' not in p.name} == {p: b for p, b in before.items() if '.lock' not in p.name}

def test_preflight_settings_are_what_run_settings_records(gen, made):
    "Every key `run_settings` writes is one `preflight` takes, so the CLI can pass any subset of them."
    s = run_settings(PLAN, gen, 2, 2.0, None, 4, 1, None)
    preflight(made, s)
