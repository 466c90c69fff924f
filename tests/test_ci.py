"The CI guard (.ci/check_sync.sh): it passes on this tree and fails when notebooks, library or README drift apart."
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent

def sh(cmd, cwd, **kw):
    env = {**os.environ, 'PATH': f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(cmd, cwd=cwd, shell=True, capture_output=True, text=True, env=env, timeout=300, **kw)

@pytest.fixture(scope='module')
def clone(tmp_path_factory):
    "A fresh git repository holding exactly the project's tracked and untracked (not ignored) files."
    dst = tmp_path_factory.mktemp('clone')/'repo'
    files = sh('git ls-files -co --exclude-standard', REPO).stdout.split()
    for f in files:
        (dst/f).parent.mkdir(parents=True, exist_ok=True)
        src = REPO/f
        if src.is_symlink(): os.symlink(os.readlink(src), dst/f)
        elif src.exists(): shutil.copy2(src, dst/f)
    assert sh('git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm base', dst).returncode == 0
    return dst

def check(clone): return sh('bash .ci/check_sync.sh', clone)

def reset(clone): assert sh('git reset -q --hard && git clean -qfd', clone).returncode == 0

def edit_nb(path, fn):
    nb = json.loads(path.read_text()); fn(nb); path.write_text(json.dumps(nb, indent=1) + '\n')

def test_clean_tree_passes(clone):
    r = check(clone); assert r.returncode == 0, r.stdout + r.stderr

def test_notebook_changed_without_export_fails(clone):
    def add(nb):
        cell = next(c for c in nb['cells'] if c['cell_type'] == 'code' and '#| export' in ''.join(c['source']) and 'def ' in ''.join(c['source']))
        cell['source'] = ''.join(cell['source']) + '\n\ndef brand_new(): "added in the notebook only"\n'
    edit_nb(clone/'nbs'/'00_core.ipynb', add)
    sh('git -c user.email=t@t -c user.name=t commit -qam "notebook only"', clone)
    r = check(clone)
    assert r.returncode == 1 and 'synaug_nb/core.py' in r.stderr
    reset(clone); sh('git reset -q --hard HEAD~1', clone)

def test_unclean_notebook_fails(clone):
    def dirty(nb): nb['cells'][0].setdefault('metadata', {})['collapsed'] = True; nb['metadata']['widgets'] = {'x': 1}
    edit_nb(clone/'nbs'/'01_data.ipynb', dirty)
    sh('git -c user.email=t@t -c user.name=t commit -qam "dirty"', clone)
    r = check(clone)
    assert r.returncode == 1 and 'nbs/01_data.ipynb' in r.stderr
    reset(clone); sh('git reset -q --hard HEAD~1', clone)

def test_stale_readme_and_untracked_export_fail(clone):
    (clone/'README.md').write_text((clone/'README.md').read_text().replace('synaug demo', 'synaug dmeo'))
    sh('git -c user.email=t@t -c user.name=t commit -qam "stale readme"', clone)
    r = check(clone); assert r.returncode == 1 and 'README.md' in r.stderr
    reset(clone); sh('git reset -q --hard HEAD~1', clone)
    (clone/'synaug_nb'/'stray.py').write_text('x = 1\n')
    r = check(clone); assert r.returncode == 1 and 'stray.py' in r.stderr
    reset(clone)
    assert check(clone).returncode == 0

def test_docs_build_reads_the_one_quarto_config(clone, tmp_path):
    "nbdev's docs preprocessing (what nbdev_docs runs before Quarto) takes nbs/_quarto.yml, a link to the top-level file."
    assert (clone/'nbs'/'_quarto.yml').is_symlink() and os.readlink(clone/'nbs'/'_quarto.yml') == '../_quarto.yml'
    fake = tmp_path/'bin'; fake.mkdir()
    (fake/'quarto').write_text('#!/bin/sh\necho 1.5.0\n'); (fake/'quarto').chmod(0o755)   # Quarto itself cannot be installed here
    before = (clone/'_quarto.yml').read_text()
    r = sh(f'PATH="{fake}:$PATH" nbdev_proc_nbs', clone)
    assert r.returncode == 0, r.stdout + r.stderr
    proc = clone/'_proc'
    assert (proc/'_quarto.yml').read_text() == before and not (proc/'_quarto.yml').is_symlink()
    assert (proc/'01_data.ipynb').exists() and (proc/'index.ipynb').exists()
    assert (clone/'_quarto.yml').read_text() == before          # nbdev did not rewrite the configuration
    assert 'website' in (clone/'nbs'/'nbdev.yml').read_text()
    assert sh('git status --porcelain', clone).stdout == ''     # generated docs files are ignored

def test_import_cell_mixed_with_code_fails(clone):
    def mix(nb):
        cell = next(c for c in nb['cells'] if c['cell_type'] == 'code' and ''.join(c['source']).startswith('#| hide\nfrom nbdev.showdoc'))
        cell['source'] = ''.join(cell['source']) + '\nx = 1\n'
    edit_nb(clone/'nbs'/'01_data.ipynb', mix)
    r = check(clone)
    assert r.returncode == 1 and '01_data.ipynb' in r.stderr and 'imports mixed with code' in r.stderr
    reset(clone)

def test_a_skip_fails_under_ci_and_skips_elsewhere(tmp_path):
    "tests/strict_deps.py: a test that skips for a missing dependency (in its body, or for the whole module) fails when CI=true."
    import os, subprocess, sys
    (tmp_path/'test_body.py').write_text("import pytest\ndef test_needs_x():\n    pytest.importorskip('no_such_module_xyz')\n")
    (tmp_path/'test_module.py').write_text("import pytest\npytest.importorskip('no_such_module_xyz')\ndef test_a(): pass\n")
    def run(ci, name):
        env = {**os.environ, 'PYTHONPATH': str(Path(__file__).parent), 'CI': ci}
        return subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'strict_deps', '-p', 'no:cacheprovider', name],
                              capture_output=True, text=True, env=env, cwd=tmp_path)
    body, module = run('true', 'test_body.py'), run('true', 'test_module.py')
    assert body.returncode == 1 and '1 failed' in body.stdout and 'every test dependency must be present' in body.stdout, body.stdout
    assert module.returncode != 0 and '1 error' in module.stdout and 'no_such_module_xyz' in module.stdout, module.stdout
    for name in ('test_body.py', 'test_module.py'):
        lax = run('', name)
        assert lax.returncode in (0, 5) and '1 skipped' in lax.stdout, lax.stdout   # 5: nothing ran (the module skipped)
