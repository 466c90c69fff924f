"Manifest compatibility and repair: folders written before the filter columns existed resume, and a row torn by a kill is cut off and its image made again."
import csv, io
import pytest
from synaug_nb.generators import PixelGenerator
from synaug_nb.pixel_diffusion import PixelDiffusion
from synaug_nb.plan import Plan
from synaug_nb.synthesize import synthesize, read_manifest, load_synthetic, MANIFEST_COLUMNS

OLD_COLUMNS = MANIFEST_COLUMNS[:MANIFEST_COLUMNS.index('attempt')]   # the manifest before filtering existed

@pytest.fixture(scope='module')
def gen():
    m = PixelDiffusion.build(['a', 'b', 'c'], size=8, widths=(8, 16), seed=0, prediction_type='v_prediction')
    return PixelGenerator(m, device='cpu')

@pytest.fixture
def plan(): return Plan(['a', 'b', 'c'], None, 'class', [5, 2, 0], [5, 5, 5], seed=3)

def run(plan, gen, out, **kw): return synthesize(plan, gen, out, steps=2, batch_size=4, progress=False, **kw)

def test_old_header_is_rewritten_and_resumes(plan, gen, tmp_path):
    out = tmp_path/'s'; run(plan, gen, out)
    mf = out/'manifest-000-of-001.csv'
    rows = list(csv.DictReader(io.StringIO(mf.read_text())))
    buf = io.StringIO(); w = csv.DictWriter(buf, OLD_COLUMNS, extrasaction='ignore'); w.writeheader(); w.writerows(rows)
    mf.write_text(buf.getvalue())                                        # as an older version wrote it
    old = read_manifest(out)
    assert (old['attempt'] == 0).all() and (old['verdict'] == '').all()  # read with the new columns' defaults
    (out/old.file[0]).unlink()                                           # one image lost: the resume must append a row
    r = run(plan, gen, out)
    assert r.made == 4                                                   # the lost image's batch, nothing else
    assert next(csv.reader(io.StringIO(mf.read_text()))) == MANIFEST_COLUMNS
    new = read_manifest(out)
    assert new[['index', 'seed', 'file']].values.tolist() == old[['index', 'seed', 'file']].values.tolist()
    assert len(load_synthetic(out)) == plan.total

def test_torn_row_is_cut_and_its_image_remade(plan, gen, tmp_path):
    out = tmp_path/'s'; run(plan, gen, out)
    mf = out/'manifest-000-of-001.csv'; before = read_manifest(out)
    lines = mf.read_text().splitlines(keepends=True)
    last = before.iloc[-1]
    mf.write_text(''.join(lines[:-1]) + lines[-1][:12])                  # the last row torn mid-write by a kill
    img = (out/last.file).read_bytes(); (out/last.file).unlink()
    assert len(read_manifest(out)) == plan.total - 1                     # the torn row is not read
    r = run(plan, gen, out)
    assert r.made == 4 and (out/last.file).read_bytes() == img
    text = mf.read_text(); assert text.endswith('\n') and lines[-1][:12] + 'images' not in text
    after = read_manifest(out)
    assert after[['index', 'seed', 'file']].values.tolist() == before[['index', 'seed', 'file']].values.tolist()
