"Plan and prompts together: a long-tailed benchmark -> uniformization plan -> items -> prompts, sharding, plan files, and bad input."
import json
import numpy as np
import pandas as pd
import pytest
from synaug_nb.core import DataError
from synaug_nb.profile import ImbalanceProfile
from synaug_nb.benchmarks import longtail_benchmark, group_benchmark
from synaug_nb.plan import Plan, uniformize, shard, ITEM_COLUMNS
from synaug_nb.prompts import PromptBook, default_book, waterbirds_book, utkface_book

DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']

@pytest.fixture(scope='module')
def lt(): return longtail_benchmark('digits', 10).train

@pytest.fixture(scope='module')
def spurious(): return group_benchmark('spurious', 'digits', agreement=0.9).train

@pytest.fixture(scope='module')
def plan(lt): return uniformize(lt, seed=3)

# --- benchmark -> plan -> items -> prompts ---------------------------------------------------

def test_plan_fills_every_class_to_the_head(lt, plan):
    assert plan.target.tolist() == [int(lt.counts().max())] * lt.n_classes
    assert (plan.real + plan.need).tolist() == plan.target.tolist()
    assert plan.total == plan.target.sum() - len(lt) > 0

def test_every_prompt_names_its_class(plan):
    book = default_book()
    book.class_text = {str(d): f'handwritten digit {w}' for d, w in enumerate(DIGITS)}
    items = plan.items()
    assert list(items.columns) == list(ITEM_COLUMNS) and len(items) == plan.total
    out = book.validate(plan.classes).prompts_for(items)
    assert len(out) == len(items) and out['index'].tolist() == items['index'].tolist()
    for name, prompt in zip(out.class_name, out.prompt):
        assert book.class_text[name] in prompt and '  ' not in prompt
    assert out.equals(book.prompts_for(items))                       # deterministic
    assert set(out.modifier) == set(book.modifiers['*'])

def test_cell_plan_prompts_name_class_and_group(spurious):
    plan = uniformize(spurious, by='cell')
    book = PromptBook(['a photo of {modifier} digit {class} on a {group} background'], {'*': ['a', 'a bold']})
    out = book.validate(spurious.classes, spurious.group_names).prompts_for(plan.items())
    assert len(out) == plan.total
    assert all(f'digit {c} on a {g} background' in p for c, g, p in zip(out.class_name, out.group_name, out.prompt))

def test_items_are_deterministic_and_seeded(lt, plan):
    a, b = plan.items(), uniformize(lt, seed=3).items()
    pd.testing.assert_frame_equal(a, b)
    other = uniformize(lt, seed=4).items()
    pd.testing.assert_frame_equal(a.drop(columns='seed'), other.drop(columns='seed'))
    assert not set(a.seed) & set(other.seed)
    assert a.seed[5] == int(np.random.SeedSequence([3, 5]).generate_state(1)[0])

def test_shards_cover_items_exactly(plan):
    items = plan.items()
    parts = [shard(items, r, 3) for r in range(3)]
    idx = [set(p['index']) for p in parts]
    assert set().union(*idx) == set(items['index'])
    assert all(not (idx[i] & idx[j]) for i in range(3) for j in range(i + 1, 3))
    assert sum(map(len, parts)) == len(items)
    pd.testing.assert_frame_equal(pd.concat(parts), items)

def test_plan_json_roundtrip(plan, tmp_path):
    f = plan.save(tmp_path/'out'/'plan.json')
    back = Plan.load(f)
    assert back == plan and back.fingerprint() == plan.fingerprint()
    pd.testing.assert_frame_equal(back.items(), plan.items())
    assert [p.name for p in f.parent.iterdir()] == ['plan.json']
    assert uniformize(ImbalanceProfile(plan.classes, plan.real), seed=3) == plan
    assert uniformize(ImbalanceProfile(plan.classes, plan.real), seed=4).fingerprint() != plan.fingerprint()

@pytest.mark.parametrize('suffix', ['.json', '.yaml', '.yml'])
def test_prompt_book_roundtrip(tmp_path, suffix):
    for book in (default_book(), waterbirds_book(), utkface_book()):
        f = book.save(tmp_path/f'book{suffix}')
        assert PromptBook.load(f) == book

# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize('kw,msg', [
    (dict(target=50), "target 50 is below the 90 real images of class '0'; a uniform set needs target >= 90"),
    (dict(target={'5': 10}), "target 10 is below the 25 real images of class '5'"),
    (dict(target=0), 'target must be an integer >= 1; got 0'),
    (dict(target=-3), 'target must be an integer >= 1; got -3'),
    (dict(target=float('nan')), 'target must be an integer >= 1; got nan'),
    (dict(target=95.5), 'target must be an integer >= 1; got 95.5'),
    (dict(target='100'), "target must be an integer >= 1; got '100'"),
    (dict(target={'eleven': 100}), "unknown class 'eleven'; valid: '0'"),
    (dict(target={'3': 0}), "target of class '3' must be an integer >= 1; got 0"),
    (dict(by='cell'), "by='cell' needs a set with groups"),
    (dict(by='group'), "unknown by 'group'; valid: 'class', 'cell'"),
    (dict(seed=-1), 'seed must be an integer >= 0; got -1'),
])
def test_uniformize_bad_input(lt, kw, msg):
    with pytest.raises(DataError) as e: uniformize(lt, **kw)
    assert msg in str(e.value)

@pytest.mark.parametrize('target,msg', [
    (10, "target 10 is below the 54 real images of cell ('0', 'red'); a uniform set needs target >= 54"),
    ({('7', 'pink'): 60}, "unknown group 'pink'; valid: 'red'"),
    ({('seven', 'red'): 60}, "unknown class 'seven'"),
    ({'7': 60}, "target keys are (class, group) tuples; got '7'"),
])
def test_uniformize_cells_bad_input(spurious, target, msg):
    with pytest.raises(DataError) as e: uniformize(spurious, by='cell', target=target)
    assert msg in str(e.value)

def test_empty_cells_and_classes_are_planned(spurious):
    plan = uniformize(spurious, by='cell')
    assert (plan.real == 0).any() and (plan.need[plan.real == 0] == plan.target[plan.real == 0]).all()
    p = uniformize(ImbalanceProfile(['a', 'b'], [7, 0]))
    assert p.need.tolist() == [0, 7]
    assert p.items().class_name.tolist() == ['b'] * 7

def test_other_sources_are_refused(lt):
    with pytest.raises(DataError, match=r'pass its .train'): uniformize(longtail_benchmark('digits', 10))
    with pytest.raises(DataError, match='needs an ImageSet, an ImbalanceProfile or a torch Dataset; got list'): uniformize([1, 2])

@pytest.mark.parametrize('rank,ws,msg', [(3, 3, r'rank \(world_size 3\) must be an integer in \[0, 2\]; got 3'), (-1, 3, r'rank \(world_size 3\) must be an integer in \[0, 2\]; got -1'),
                                         (0, 0, 'world_size must be an integer >= 1; got 0')])
def test_shard_bad_rank(plan, rank, ws, msg):
    with pytest.raises(DataError, match=msg): shard(plan.items(), rank, ws)

def test_bad_plan_files(tmp_path, plan):
    (tmp_path/'a.json').write_text('{"classes": [')
    with pytest.raises(DataError, match=r"a.json' is not valid JSON"): Plan.load(tmp_path/'a.json')
    (tmp_path/'b.json').write_text(json.dumps({**plan.to_dict(), 'target': [1] * 10}))
    with pytest.raises(DataError, match=r"b.json' is not a valid plan: target 1 is below"): Plan.load(tmp_path/'b.json')
    with pytest.raises(DataError, match='plan file not found'): Plan.load(tmp_path/'none.json')

@pytest.mark.parametrize('book,classes,groups,msg', [
    (dict(modifiers={'eleven': ['a big']}), DIGITS, None, "modifiers key 'eleven' is not a class; valid classes: ['zero'"),
    (dict(class_text={'T-shirt': 't-shirt'}), DIGITS, None, "class_text key 'T-shirt' is not a class"),
    (dict(group_text={'sea': 'the sea'}), ['landbird', 'waterbird'], ['land', 'water'], "group_text key 'sea' is not a group; valid groups: ['land', 'water']"),
    (dict(templates=['a {class} on {group}']), DIGITS, None, "template 'a {class} on {group}' uses {group} (the group) but the set has no groups"),
])
def test_validate_bad_books(book, classes, groups, msg):
    with pytest.raises(DataError) as e: PromptBook(**book).validate(classes, groups)
    assert msg in str(e.value)

@pytest.mark.parametrize('book,msg', [
    (dict(templates=[]), 'needs at least one template'),
    (dict(templates=['a photo of {colour} {class}']), 'unknown placeholder {colour}; valid: {class}, {group}, {modifier}'),
    (dict(templates=['a photo of {class'],), 'is not a valid str.format template'),
    (dict(aliases={'race': 'ethnicity'}), "alias 'race' must stand for one of"),
])
def test_malformed_books(book, msg):
    with pytest.raises(DataError) as e: PromptBook(**book)
    assert msg in str(e.value)

def test_sample_is_deterministic_and_covers_modifiers():
    book = default_book().with_modifiers('tulip', ['a red', 'a wilted'])
    assert [book.sample('tulip', seed=s) for s in range(30)] == [book.sample('tulip', seed=s) for s in range(30)]
    assert {book.sample('tulip', seed=s)['modifier'] for s in range(200)} == set(book.modifiers['tulip'] + book.modifiers['*'])
    assert PromptBook().sample('cat')['prompt'] == 'a photo of cat'

@pytest.mark.parametrize('text,suffix,msg', [('{"templates": [', '.json', 'is not valid JSON'),
                                             ('templates: [a\nmodifiers: {', '.yaml', 'is not valid YAML'),
                                             ('- a photo of {class}\n', '.yml', 'a prompt book must be a mapping'),
                                             ('{"template": ["a {class}"]}', '.json', "unknown prompt book keys ['template']")])
def test_bad_book_files_name_the_file(tmp_path, text, suffix, msg):
    f = tmp_path/f'book{suffix}'; f.write_text(text)
    with pytest.raises(DataError) as e: PromptBook.load(f)
    assert str(f) in str(e.value) and msg in str(e.value)
