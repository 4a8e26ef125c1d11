"""docs/*.md hold to the README's rules (tests/test_readme.py): Python blocks run, command lines
parse, text blocks are checked output or marked illustrative. The measurement pages name the
command that regenerates them; docs/activations has a reference page for every activation."""

from __future__ import annotations

import re

import pytest

from conftest import REPO
from test_readme import (Block, blocks, check_bash_block, check_block_language, check_text_block,
                         commands, run_python_block)

DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
BLOCKS = [b for page in PAGES for b in blocks(page)]
MEASUREMENTS = ("benchmarks.md", "accuracy.md")


def _ids(kind):
    return [b.id for b in BLOCKS if b.lang == kind]


def test_the_docs_pages_exist():
    names = {p.name for p in PAGES}
    assert {"guide.md", "numerics.md", "kernels.md", "distributed.md", "compare.md", "addons.md", "tf_keras.md",
            "differences.md", *MEASUREMENTS} <= names, names


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_docs_block_has_a_checked_language(block):
    check_block_language(block)


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "python"], ids=_ids("python"))
def test_docs_python_block_runs(block, tmp_path):
    run_python_block(block, tmp_path)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "bash"], ids=_ids("bash"))
def test_docs_bash_block_commands_parse(block):
    check_bash_block(block)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "text"], ids=_ids("text"))
def test_docs_text_block_is_checked_output_or_marked_illustrative(block):
    check_text_block(block)


@pytest.mark.parametrize("page", MEASUREMENTS)
def test_a_measurement_page_names_its_command_date_machine_and_versions(page):
    """The first code block is the bench.py command that writes this very page; the header
    lines after it say when, on what and with which versions it was measured."""
    first = blocks(DOCS / page)[0]
    assert first.lang == "bash", f"{page}: the first block must be the command that regenerates it"
    (command,) = commands(first.code)
    assert command[:2] == ["python", "benchmarks/bench.py"], command
    assert command[command.index("--markdown") + 1] == f"docs/{page}", f"{page}: the command writes another file"
    text = (DOCS / page).read_text()
    assert re.search(r"^- measured \d{4}-\d\d-\d\d \d\d:\d\d UTC on .+, \d+ cores", text, re.M), page
    assert re.search(r"^- python [\d.]+, tensorflow [\d.]+, keras [\d.]+", text, re.M), page


def test_the_measurement_pages_are_what_bench_writes(tmp_path):
    """The page layout is bench.py's own (--markdown), not edited by hand: rebuilding the page from
    its tables gives the page back."""
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    for page in MEASUREMENTS:
        text = (DOCS / page).read_text()
        argv = commands(blocks(DOCS / page)[0].code)[0][2:]
        args = bench.make_parser().parse_args(argv)
        header = [line[2:] for line in text.splitlines() if line.startswith("- ")]
        tables = blocks(DOCS / page)[-1].code
        report = "".join(f"# {line}\n" for line in header) + tables
        assert bench.markdown_page(argv, args.mode or bench.SUMMARY, report) == text, page


def test_every_activation_has_its_reference_page():
    """docs/activations is `tf-activations gallery --out docs/activations`: a page and a plot per
    name (regenerate it after adding or renaming one), and no page for a name that is gone."""
    import tf_activations

    folder = DOCS / "activations"
    names = set(tf_activations.available())
    pages = {p.stem for p in folder.glob("*.html")} - {"index"}
    assert names - pages == set(), f"no page for {sorted(names - pages)}: tf-activations gallery --out docs/activations"
    assert pages - names == set(), f"pages for names that are gone: {sorted(pages - names)}"
    assert {p.stem for p in folder.glob("*.png")} >= names
    index = (folder / "index.html").read_text()
    for name in names:
        assert f'href="{name}.html"' in index, name


def test_links_between_the_docs_resolve():
    """Every relative link in the README and docs/*.md names a file that exists."""
    for page in [REPO / "README.md", *PAGES]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_a_marker_on_an_unchecked_language_still_fails():
    with pytest.raises(AssertionError, match="language"):
        check_block_language(Block("x.md", 1, "console", "$ ls\n", "illustrative: a shell session"))
