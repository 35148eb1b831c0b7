"""`make test-fast` leaves out what the markers say (docs/testing.md): the markers it names are
the registered ones, and every test that uses a shared build carries the marker that keeps it
out of the quick loop."""

import re
import tomllib

from tests.conftest import BUILDS_THE_PIPELINE, NEEDS_REAL_DATA, PROJECT_ROOT


def _registered() -> set[str]:
    """The markers lockstep registers in pyproject.toml (plugins register their own)."""
    config = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    return {line.split(":")[0].strip()
            for line in config["tool"]["pytest"]["ini_options"]["markers"]}


def test_make_test_fast_leaves_out_every_registered_marker():
    """The expression `make test-fast` hands to pytest names each registered marker, each
    negated: real history, browser, pipeline builds and Spark stay out, nothing else does."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    [expression] = re.findall(r"^FAST_MARKERS\s*=\s*(.+)$", makefile, flags=re.M)
    terms = [t.strip() for t in expression.split(" and ")]
    assert all(t.startswith("not ") for t in terms), expression
    assert {t.removeprefix("not ").strip() for t in terms} == _registered() \
        == {"real_data", "browser", "slow", "spark"}
    recipe = makefile[makefile.index("\ntest-fast:"):].split("\n\n")[0]
    assert 'pytest -m "$(FAST_MARKERS)"' in recipe


def test_every_user_of_a_shared_build_is_marked(request):
    """Whatever this session selected: a test that uses the demo build, a copy of it or the
    real warehouse (directly or through another fixture) is `slow`; one that needs the real
    history is `real_data`. Under `make test-fast` none of them is selected at all."""
    items = request.session.items
    assert len(items) >= 1
    for item in items:
        needs = set(item.fixturenames)
        marks = {m.name for m in item.iter_markers()}
        if needs & BUILDS_THE_PIPELINE:
            assert "slow" in marks, item.nodeid
        if needs & NEEDS_REAL_DATA:
            assert "real_data" in marks, item.nodeid
    if request.config.getoption("markexpr") == \
            "not real_data and not browser and not slow and not spark":
        assert not [i.nodeid for i in items if set(i.fixturenames) & BUILDS_THE_PIPELINE]
