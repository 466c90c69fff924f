"""A pytest plugin: under CI (`CI=true`) a skipped test fails. Every dependency a test needs (Chromium,
playwright, fairlearn, prdc, the Fashion-MNIST package) is installed by `.ci/run`, so a skip there means
a missing dependency, and it must not pass as green. Local runs without `CI` still skip, saying why."""
import os
import pytest

def strict() -> bool: return os.environ.get('CI', '').strip().lower() in ('1', 'true', 'yes')

def _reason(rep) -> str:
    return rep.longrepr[2] if isinstance(rep.longrepr, tuple) and len(rep.longrepr) == 3 else str(rep.longrepr)

def _fail(rep):
    rep.longrepr = f"skipped under CI=true, where every test dependency must be present: {_reason(rep)}"
    rep.outcome = 'failed'

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    if strict() and rep.skipped and not hasattr(rep, 'wasxfail'): _fail(rep)

@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    rep = (yield).get_result()
    if strict() and rep.skipped: _fail(rep)   # a module-level skip (importorskip, allow_module_level)
