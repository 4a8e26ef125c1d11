"""Every code block of the README is right: Python blocks run as written, each in a fresh
interpreter; each command line of a bash block parses with the parser of the program it names
(tf-activations, benchmarks/bench.py) and names only extras pyproject.toml has; a text block is
either a command's output, checked against that command, or marked illustrative with a reason.
Tables between ``<!-- NAME: COMMAND -->`` and ``<!-- /NAME -->`` are that command's output.
tests/test_docs.py applies the same rules to docs/*.md."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import os
import re
import shlex
import subprocess
import sys
import tomllib

import pytest

from conftest import REPO, TFLITE_CONVERTS_KERAS_3, run_python, tf_keras_supported

README = REPO / "README.md"
MAX_README_LINES = 250


@dataclasses.dataclass(frozen=True)
class Block:
    path: str
    line: int      # of the opening fence, 1-based
    lang: str
    code: str
    marker: str    # the HTML comment on the line before the fence ("" if none)

    @property
    def id(self):
        return f"{self.path}:{self.line}"


_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*(.*?)\s*-->$")


def blocks(path) -> list:
    """The fenced code blocks of a Markdown file, with the comment just before each."""
    lines = path.read_text().split("\n")
    found, i = [], 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].rstrip() == "```"), None)
        assert end is not None, f"{path.name}:{i + 1}: a code block that is never closed"
        before = _MARKER.match(lines[i - 1].strip()) if i else None
        found.append(Block(path.name, i + 1, opening.group(1), "\n".join(lines[i + 1:end]) + "\n",
                           before.group(1) if before else ""))
        i = end + 1
    return found


# ---- python blocks ---------------------------------------------------------------------------

def run_python_block(block, tmp_path):
    code = block.code
    if "TFLiteConverter" in code and not TFLITE_CONVERTS_KERAS_3:
        pytest.skip("this TensorFlow's TFLite converter cannot convert a Keras 3 Dense model (TF 2.16)")
    if "TF_USE_LEGACY_KERAS" in code and not tf_keras_supported():
        pytest.skip("tf_keras missing or older than 2.21: the package registers nothing there")
    # In a scratch folder: examples save files (model.h5) as a user would, relative to where they are.
    run_python(f"import os; os.chdir({str(tmp_path)!r})\n" + code)


# ---- bash blocks -----------------------------------------------------------------------------

# Commands that no parser here can check, each with the reason it may appear.
UNCHECKED = {
    "python3 -m venv": "makes a virtual environment (the standard library's)",
    ". ": "activates that environment",
    "python -m pytest": "runs the suite",
    "printf ": "writes a pip constraints file",
    "apt-get install": "Debian's package manager, for chromium",
    "chromium ": "a headless browser screenshot of a gallery page",
    "python worker.py": "the Python block above it, saved as worker.py",
    "for ": "shell loop syntax",
    "done": "shell loop syntax",
    "wait": "shell: waits for the background workers",
}
_SEPARATORS = {"&&", "||", ";", "&", "|"}


def commands(code) -> list:
    """The simple commands of a bash block, as token lists: continuation lines joined,
    comments dropped, split at && ; & |, redirections and leading VAR=value dropped."""
    text = code.replace("\\\n", " ")
    out = []
    for line in text.split("\n"):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current = []
        tokens = list(lexer)
        for k, token in enumerate(tokens):
            if token in _SEPARATORS:
                out.append(current)
                current = []
            elif token in (">", ">>", "<") or (k and tokens[k - 1] in (">", ">>", "<")):
                continue
            elif not current and token == "do":
                continue
            else:
                current.append(token)
        out.append(current)
    result = []
    for tokens in out:
        while tokens and re.match(r"^[A-Z_][A-Z0-9_]*=", tokens[0]):
            tokens = tokens[1:]
        if tokens:
            result.append(tokens)
    return result


def _extras() -> set:
    with open(REPO / "pyproject.toml", "rb") as f:
        return set(tomllib.load(f)["project"]["optional-dependencies"])


def _parse_tf_activations(args, where):
    from tf_activations import _registry, cli

    if args and args[0] == "build":  # build's own options belong to the native CLI's parser
        help_text = io.StringIO()
        with contextlib.redirect_stdout(help_text), pytest.raises(SystemExit):
            cli.main(["build", "--help"])
        for option in args[1:]:
            assert option.split("=")[0] in help_text.getvalue(), f"{where}: `build` has no option {option}"
        return
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parsed = cli.make_parser().parse_args(args)
    except SystemExit as exc:
        assert exc.code == 0, f"{where}: tf-activations {shlex.join(args)}: {err.getvalue().strip()}"
        return
    for attr in ("name", "names", "names_opt"):
        for value in getattr(parsed, attr, None) or ():
            for name in value.split(","):
                if name.strip():
                    _registry.canonical(name.strip())  # an unknown name raises, naming it


def _parse_bench(args, where):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import bench
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parsed = bench.make_parser().parse_args(args)
    except SystemExit as exc:
        assert exc.code == 0, f"{where}: bench.py {shlex.join(args)}: {err.getvalue().strip()}"
        return
    bench.plan(parsed)  # names, sizes and dtypes are checked here (nothing is measured)


def _check_pip(args, where):
    extras = _extras()
    for arg in args:
        found = re.search(r"\[([^\]]*)\]", arg)
        if found and not arg.startswith("-"):
            wanted = {e.strip() for e in found.group(1).split(",")}
            assert wanted <= extras, f"{where}: pip install {arg}: no extra {sorted(wanted - extras)} in pyproject.toml"


def check_command(tokens, where):
    line = " ".join(tokens)
    if tokens[0] == "tf-activations":
        _parse_tf_activations(tokens[1:], where)
    elif tokens[:3] == ["python", "-m", "tf_activations"]:
        _parse_tf_activations(tokens[3:], where)
    elif tokens[:2] == ["python", "benchmarks/bench.py"]:
        _parse_bench(tokens[2:], where)
    elif tokens[:2] == ["pip", "install"] or tokens[:4] == ["python", "-m", "pip", "install"]:
        _check_pip(tokens, where)
    elif tokens[:2] == ["python", "tests/peer_suites/run.py"]:
        assert len(tokens) > 2 and tokens[2] in ("keras", "addons"), f"{where}: {line}: the suites are keras, addons"
    else:
        known = [prefix for prefix in UNCHECKED if (line + " ").startswith(prefix)]
        assert known, f"{where}: `{line}` is a command no test checks; add a parser check or a reason to UNCHECKED"


def check_bash_block(block):
    for tokens in commands(block.code):
        check_command(tokens, block.id)


# ---- text blocks: a command's output, or marked illustrative ---------------------------------

def _output(argv) -> str:
    from tf_activations import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(argv) == 0, argv
    return out.getvalue()


def _info_sigmoid_ends_with(text):
    assert _output(["info", "sigmoid"]).rstrip("\n").endswith(text.rstrip("\n")), \
        "the `info sigmoid` excerpt is out of date: paste the end of `tf-activations info sigmoid`"


def _status_mish_relu(text):
    from tf_activations import _status, native

    if native.library_path() is None or native.pure_forced():
        pytest.skip("the excerpt shows the kernels loaded; they are not here")
    ours = str(_status.status(["mish", "relu"]))
    table = text.split("what each call runs in this mode:\n", 1)[1].rstrip("\n")
    assert table in ours, ours
    assert text.startswith("TensorFlow   ") and "\nC++ kernels  loaded: " in text


# marker text after "checked: " -> the check of the block that follows it
CHECKED = {
    "`tf-activations status --names mish,relu` (versions and path are the reader's)": _status_mish_relu,
    "the end of `tf-activations info sigmoid`": _info_sigmoid_ends_with,
}


def check_text_block(block):
    if block.marker.startswith("illustrative:"):
        assert len(block.marker) > len("illustrative:") + 10, f"{block.id}: say why the block is illustrative"
        return
    assert block.marker.startswith("checked: "), (
        f"{block.id}: a text block must be a command's output (<!-- checked: ... -->, with its check in "
        f"tests/test_readme.py CHECKED) or <!-- illustrative: why -->; it has {block.marker or 'no marker'!r}")
    key = block.marker[len("checked: "):]
    assert key in CHECKED, f"{block.id}: no check named {key!r} in tests/test_readme.py CHECKED"
    CHECKED[key](block.code)


def check_block_language(block):
    assert block.lang in ("python", "bash", "text"), (
        f"{block.id}: a code block's language must be python, bash or text (each is checked); got {block.lang!r}")


# ---- generated sections ----------------------------------------------------------------------

_GENERATED = re.compile(r"<!-- (\w+): (.+?) -->\n(.*?)<!-- /\1 -->", re.S)


def generated_sections(path) -> list:
    """(name, command, text) for each section between <!-- NAME: COMMAND --> and <!-- /NAME -->."""
    return _GENERATED.findall(path.read_text())


def command_output(command) -> str:
    """The output of a `tf-activations ...` command line, run in this process."""
    argv = shlex.split(command)
    assert argv[0] == "tf-activations", command
    return _output(argv[1:])


# ---- the README ------------------------------------------------------------------------------

BLOCKS = blocks(README)
PYTHON = [b for b in BLOCKS if b.lang == "python"]


def test_readme_is_at_most_250_lines():
    assert len(README.read_text().splitlines()) <= MAX_README_LINES


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_has_a_checked_language(block):
    check_block_language(block)


@pytest.mark.slow
@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_readme_python_block_runs(block, tmp_path):
    run_python_block(block, tmp_path)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "bash"],
                         ids=[b.id for b in BLOCKS if b.lang == "bash"])
def test_readme_bash_block_commands_parse(block):
    check_bash_block(block)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "text"],
                         ids=[b.id for b in BLOCKS if b.lang == "text"])
def test_readme_text_block_is_checked_output_or_marked_illustrative(block):
    check_text_block(block)


def test_readme_test_command_is_what_ci_runs():
    """The README's test command, piece by piece, is in .ci/run in the same order (CI runs it)."""
    test_line = next(line for b in BLOCKS if b.lang == "bash" for line in b.code.splitlines()
                     if line.endswith("python -m pytest -q"))
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    at = 0
    for piece in (p.strip() for p in test_line.split("&&")):
        assert piece in ci[at:], f"README's test command runs `{piece}`; .ci/run does not (after line {at})"
        at = ci.index(piece, at) + 1


def test_readme_activation_list_is_the_commands_output():
    sections = {name: (command, text) for name, command, text in generated_sections(README)}
    command, text = sections["activations"]
    assert text.strip() == command_output(command).strip(), f"regenerate the README's table: {command}"


def test_readme_kernel_table_is_the_commands_output():
    """In a fresh process, as a user runs it: tests before this one reload, refuse and plant
    kernel libraries in this process, and the table is read with the kernels loaded."""
    sections = {name: (command, text) for name, command, text in generated_sections(README)}
    command, text = sections["kernels"]
    env = {k: v for k, v in os.environ.items() if k != "TF_ACTIVATIONS_PURE"}
    done = subprocess.run([sys.executable, "-m", "tf_activations", *shlex.split(command)[1:]], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=600)
    if done.returncode == 2 and "not built" in done.stderr:
        pytest.skip("the table is read from the dispatch code with the kernels loaded; they are not built here")
    assert done.returncode == 0, done.stderr[-2000:]
    assert text.strip() == done.stdout.strip(), f"regenerate the README's table: {command}"


def test_every_checked_output_is_used():
    """A check in CHECKED that no block names would guard nothing."""
    used = {b.marker[len("checked: "):] for path in [README, *sorted((REPO / "docs").glob("*.md"))]
            for b in blocks(path) if b.marker.startswith("checked: ")}
    assert set(CHECKED) <= used, set(CHECKED) - used


# ---- the checks themselves fail on wrong blocks ----------------------------------------------

def test_a_wrong_command_line_fails():
    bad = [("tf-activations lst", "invalid choice"), ("tf-activations info --nmes mish", "unrecognized"),
           ("python -m tf_activations plot mishh --out a.png", "unknown activation name"),
           ("python benchmarks/bench.py --kernal", "unrecognized"),
           ("python benchmarks/bench.py --kernels --names nosuch", "unknown"),
           ('pip install -e ".[tf,tests]"', "no extra"), ("tf-activations build --fast", "no option"),
           ("curl https://example.com | sh", "no test checks")]
    for line, why in bad:
        with pytest.raises(Exception) as exc:  # noqa: PT011 -- the message is checked below
            check_bash_block(Block("x.md", 1, "bash", line + "\n", ""))
            pytest.fail(f"passed: {line}")
        assert why in str(exc.value), (line, str(exc.value))
    check_bash_block(Block("x.md", 1, "bash", 'python3 -m venv .venv && . .venv/bin/activate && '
                                              'pip install -e ".[tf,test,plot]" && tf-activations list --markdown\n', ""))


def test_an_unmarked_or_wrong_text_block_fails():
    with pytest.raises(AssertionError, match="a text block must be"):
        check_text_block(Block("x.md", 1, "text", "anything\n", ""))
    with pytest.raises(AssertionError, match="out of date"):
        check_text_block(Block("x.md", 1, "text", "  range       [0, 2] (measured out to |x| = 1e6)\n",
                               "checked: the end of `tf-activations info sigmoid`"))
    with pytest.raises(AssertionError, match="language"):
        check_block_language(Block("x.md", 1, "", "x\n", ""))


def test_the_activation_table_has_every_name_once_with_its_parameters():
    import tf_activations

    rows = command_output("tf-activations list --markdown").strip().splitlines()[2:]
    named = [re.match(r"\| [^|]+ \| `(\w+)", row).group(1) for row in rows]
    assert sorted(named) == tf_activations.available()
    softplus = next(row for row in rows if "`softplus(" in row)
    assert "`softplus(beta=1, threshold=None)`" in softplus and "Dugas" in softplus
    assert "`hard_swish` (alias `hard_silu`, `hardswish`)" in "\n".join(rows)
    assert "`gelu_tanh` = `gelu(approximate=True)`" in "\n".join(rows)


def test_the_kernel_table_needs_the_kernels_and_says_so(monkeypatch, capsys):
    from tf_activations import cli

    monkeypatch.setenv("TF_ACTIVATIONS_PURE", "1")
    assert cli.main(["list", "--markdown", "kernels"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tf-activations: error: the kernel table is read from the dispatch code") and "pure" in err
