"""The documentation holds together: README.md stays a short front door, and every relative
link in README.md, docs/*.md, warehouse/README.md and benchmarks/README.md leads to a file
that exists and, when it names an anchor, to a heading of that file (GitHub's anchor rule)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 300
DOCS = sorted([ROOT / "README.md", ROOT / "warehouse" / "README.md",
               ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")])

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def _outside_code(text: str) -> str:
    """The text without fenced code blocks and inline code, where brackets are not links."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(lines)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but '-' and '_' dropped (code
    spans keep their text), spaces to '-'."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in path.read_text().splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m and not fenced:
            base = anchor(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(_outside_code(path.read_text()))
            if not re.match(r"^[a-z]+:", t)]


def test_anchor_follows_githubs_rule():
    # worked out by hand from GitHub's rendering of such headings
    assert anchor("The Dagster UI: `make dev`") == "the-dagster-ui-make-dev"
    assert anchor("BI-facing tables (schema `marts`)") == "bi-facing-tables-schema-marts"
    assert anchor("Partitions, backfills and re-runs") == "partitions-backfills-and-re-runs"
    assert anchor("Partitions: `benchmarks/bench_partitions.py`") == \
        "partitions-benchmarksbench_partitionspy"


def test_readme_is_a_short_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_every_moved_guide_is_linked_from_the_readme():
    linked = {(ROOT / t.split("#")[0]).resolve()
              for t in relative_links(ROOT / "README.md") if not t.startswith("#")}
    for doc in DOCS:
        if doc.name != "README.md" or doc.parent != ROOT:
            assert doc.resolve() in linked, f"{doc.relative_to(ROOT)} is not linked from README"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc):
    broken = []
    for target in relative_links(doc):
        file, _, frag = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        if not dest.exists():
            broken.append(f"{target}: no file {dest}")
        elif frag and dest.suffix == ".md" and frag not in anchors(dest):
            broken.append(f"{target}: no heading with anchor #{frag} in {dest.name}")
    assert broken == [], "\n".join(broken)
