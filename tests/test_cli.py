"""python -m tf_activations: commands run in-process via cli.main(argv); one subprocess smoke test."""

import argparse
import json
import os
import subprocess
import sys

import pytest

import tf_activations
from tf_activations import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("list", "info", "plot", "gallery", "compare", "status", "build", "bench"):
        assert f"    {command}" in out


def test_list(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(tf_activations.available())
    mish = next(l for l in lines if l.startswith("mish "))
    assert "self-gated" in mish and "tanh" in mish


def test_info(capsys):
    assert cli.main(["info", "swish"]) == 0
    out = capsys.readouterr().out
    for text in ("swish", "formula", "derivative", "range", "beta = 1.0", "Ramachandran"):
        assert text in out
    assert cli.main(["info", "hard_silu"]) == 0  # aliases work
    assert cli.main(["info", "mish", "--json"]) == 0
    assert '"family": "self-gated"' in capsys.readouterr().out


def test_info_teaches_with_numbers(capsys):
    assert cli.main(["info", "sigmoid"]) == 0
    out = capsys.readouterr().out
    for text in ("when to use", "advantages", "disadvantages", "mean output 0.5 for N(0, 1) input",
                 "x < -6.91 and x > 6.91", "measured (float64", "not measured (add --cost)"):
        assert text in out, text
    assert "not borne out" not in out
    assert cli.main(["info", "relu", "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert data["measured"]["dead"] == [["-inf", 0.0]] and data["measured"]["sparsity"] == pytest.approx(0.5)


def test_info_cost_is_measured_only_on_request(capsys, monkeypatch):
    from tf_activations import properties

    calls = []
    monkeypatch.setattr(properties, "measure_cost", lambda names: calls.append(names) or {n: 3.0 for n in names})
    assert cli.main(["info", "mish"]) == 0 and not calls
    assert cli.main(["info", "mish", "--cost"]) == 0 and calls == [["mish"]]
    assert "fwd+bwd time 3x relu's" in capsys.readouterr().out
    assert cli.main(["info", "mishh", "--cost"]) == 2 and calls == [["mish"]]  # the name is checked first


def test_unknown_name_prints_the_registry_error_and_exits_2(capsys):
    assert cli.main(["info", "mishh"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tf-activations: error: unknown activation name 'mishh'")
    assert "Did you mean 'mish'" in err
    assert "Traceback" not in err
    assert cli.main(["plot", "relu,nope", "--out", os.devnull]) == 2


def test_plot_writes_a_png(tmp_path, capsys):
    out = tmp_path / "p.png"
    assert cli.main(["plot", "mish,gelu", "swish", "--out", str(out), "--x-range", "-3", "3"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_gallery_renders_every_activation(tmp_path, capsys):
    assert cli.main(["gallery", "--out", str(tmp_path)]) == 0
    pngs = {p.stem for p in tmp_path.glob("*.png")}
    assert pngs == set(tf_activations.available())
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert page.count("<tr>") == len(pngs) + 1


def test_compare_tiny(tmp_path, capsys):
    code = cli.main(["compare", "--activations", "relu", "--depth", "2", "--width", "4", "--epochs", "1",
                     "--samples", "64", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    out = capsys.readouterr().out
    assert "relu" in out and "test acc" in out
    assert (tmp_path / "compare.png").exists() and (tmp_path / "table.txt").exists()
    assert cli.main(["compare", "--activations", "relu", "--depth", "0", "--quiet"]) == 2


def test_build_passes_its_arguments_to_the_native_cli(monkeypatch):
    from tf_activations.native import cli as native_cli

    seen = []
    monkeypatch.setattr(native_cli, "build_main", lambda argv: seen.append(("build", argv)) or 7)
    assert cli.main(["build", "--force"]) == 7  # a first argument starting with "-" is not eaten
    assert seen == [("build", ["--force"])]


def test_bench_says_in_one_line_where_the_benchmarks_moved(capsys):
    """The installed package carries no benchmarks: `bench` names the command to run from a
    clone, with the user's own options carried over, and exits 2 without a traceback."""
    for argv, command in ((["bench"], "python benchmarks/bench.py"),
                          (["bench", "--kernels", "--sizes", "16"], "python benchmarks/bench.py --kernels --sizes 16")):
        assert cli.main(argv) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith("tf-activations: error: the benchmarks are not part of the installed package")
        assert f"run: {command} (" in lines[0]


def test_the_installed_package_holds_no_benchmark_code():
    """Measurements live in the repository's benchmarks/, not in what pip installs: no bench
    module, nothing importing the benchmarks, and wall-clock timing only where a command
    reports its own duration or `info --cost` / `gallery --cost` measure on request. Run by
    .ci/check_install.sh against the installed wheel and sdist too."""
    import ast
    import importlib.util

    package = os.path.dirname(tf_activations.__file__)
    for gone in ("tf_activations.native.bench", "tf_activations.native.train_bench"):
        assert importlib.util.find_spec(gone) is None, gone
    timing = set()
    for folder, _, files in os.walk(package):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, package).replace(os.sep, "/")
            assert "bench" not in name, rel
            tree = ast.parse(open(path, encoding="utf-8").read(), path)
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    modules = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                    assert not any(m.split(".")[0] in ("benchmarks", "_timing") for m in modules), rel
                if isinstance(node, ast.Attribute) and node.attr in ("perf_counter", "perf_counter_ns"):
                    timing.add(rel)
    # cli: gallery's and compare's wall time; compare: seconds per epoch; properties: `--cost`
    assert timing == {"cli.py", "compare.py", "properties.py"}, timing


def test_smoke_subprocess():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-m", "tf_activations", "info", "nope"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 2
    assert "unknown activation name 'nope'" in out.stderr and "Traceback" not in out.stderr


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"tf-activations {tf_activations.__version__}"


def test_every_option_of_every_command_has_help():
    parser = cli.make_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for command, p in [("", parser)] + list(sub.choices.items()):
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not (action.help or "").strip():
                missing.append(f"{command} {action.dest}")
    assert missing == []
    from tf_activations.native import cli as native_cli

    with pytest.raises(SystemExit):
        native_cli.build_main(["--help"])


def test_console_script_is_declared():
    pyproject = os.path.join(ROOT, "pyproject.toml")
    if os.path.exists(pyproject):  # a checkout (no tomllib on Python 3.10)
        with open(pyproject) as f:
            text = f.read()
        section = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
        scripts = dict(tuple(part.strip().strip('"') for part in line.split("=", 1))
                       for line in section.strip().splitlines() if "=" in line)
    else:  # the tests run against an installed package (.ci/check_install.sh)
        from importlib.metadata import entry_points

        scripts = {e.name: e.value for e in entry_points(group="console_scripts") if e.name == "tf-activations"}
    assert scripts == {"tf-activations": "tf_activations.cli:main"}


def test_names_are_passed_the_same_way_everywhere(tmp_path, capsys, monkeypatch):
    seen = {}

    def fake_plot(names, **kwargs):
        seen["plot"] = names
        import matplotlib.pyplot as plt

        return plt.figure()

    from tf_activations import compare, plotting

    monkeypatch.setattr(plotting, "plot", fake_plot)
    def fake_gallery(out, names=None, **kwargs):
        os.makedirs(out, exist_ok=True)
        seen["gallery"] = names
        return os.path.join(out, "index.html")

    monkeypatch.setattr(plotting, "render_gallery", fake_gallery)
    monkeypatch.setattr(compare, "run", lambda activations, **kw: seen.setdefault("compare", activations) and [])
    monkeypatch.setattr(compare, "format_table", lambda results: "")
    out = str(tmp_path / "p.png")
    assert cli.main(["plot", "--names", "relu,gelu", "--names", "hard_silu", "--out", out]) == 0
    assert seen.pop("plot") == ["relu", "gelu", "hard_swish"]
    assert cli.main(["plot", "relu", "gelu", "--out", out]) == 0  # the positional spelling stays
    assert seen.pop("plot") == ["relu", "gelu"]
    assert cli.main(["gallery", "--names", "relu,mish", "--out", str(tmp_path / "g")]) == 0
    assert seen.pop("gallery") == ["relu", "mish"]
    assert cli.main(["gallery", "--names", "relu", "mish", "--out", str(tmp_path / "g")]) == 0  # as before
    assert seen.pop("gallery") == ["relu", "mish"]
    for option in ("--names", "--activations"):  # --activations stays as an alias
        assert cli.main(["compare", option, "relu,gelu", "--out", "", "--quiet"]) == 0
        assert seen.pop("compare") == ["relu", "gelu"]
    from tf_activations import _status

    monkeypatch.setattr(_status, "status", lambda names: seen.setdefault("status", names) and "")
    assert cli.main(["status", "--names", "relu,hard_silu", "--names", "mish"]) == 0
    assert seen.pop("status") == ["relu", "hard_swish", "mish"]
    capsys.readouterr()
    assert cli.main(["info", "--names", "relu,mish"]) == 0  # info NAME stays; several names too
    out = capsys.readouterr().out
    assert out.count("  formula     ") == 2 and out.index("relu  (") < out.index("mish  (")
    assert cli.main(["info", "relu", "--names", "mish", "--json"]) == 0
    assert [d["name"] for d in json.loads(capsys.readouterr().out)] == ["relu", "mish"]
    assert cli.main(["info", "--json"]) == 2 and "info needs a name" in capsys.readouterr().err


def _one_line_error(capsys, expected):
    err = capsys.readouterr().err
    assert err.startswith("tf-activations: error: ") and expected in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unknown_gallery_name_leaves_no_folder(tmp_path, capsys):
    out = tmp_path / "gallery"
    assert cli.main(["gallery", "--names", "nosuch", "--out", str(out)]) == 2
    _one_line_error(capsys, "unknown activation name 'nosuch'")
    assert not out.exists()


def test_bad_out_paths_are_errors_not_tracebacks(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert cli.main(["plot", "relu", "--out", str(tmp_path / "missing" / "p.png")]) == 2
    _one_line_error(capsys, "does not exist")
    assert cli.main(["plot", "relu", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "is a folder")
    assert cli.main(["gallery", "--names", "relu", "--out", str(a_file)]) == 2
    _one_line_error(capsys, "is not a folder")
    assert cli.main(["gallery", "--names", "relu", "--out", str(a_file / "sub")]) == 2
    _one_line_error(capsys, "cannot be created")
    assert cli.main(["compare", "--names", "relu", "--out", str(a_file), "--quiet"]) == 2
    _one_line_error(capsys, "is not a folder")
    assert not (tmp_path / "missing").exists()


def test_missing_plot_extra_is_an_error_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    out = tmp_path / "gallery"
    assert cli.main(["gallery", "--names", "relu", "--out", str(out)]) == 2
    _one_line_error(capsys, "pip install 'tf-activations[plot]'")
    assert not out.exists()
    assert cli.main(["plot", "relu", "--out", str(tmp_path / "p.png")]) == 2
    _one_line_error(capsys, "pip install 'tf-activations[plot]'")


def test_closed_pipe_is_quiet():
    """`tf-activations list | head -1`: the reader is gone before anything is written."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "tf_activations", "list", "--full"], stdout=write,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT, timeout=120)
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


# --- what a user sees in a terminal: no TensorFlow log lines, the paths of what was written ------

def _run_cli(args, tf_log_level=None, timeout=600):
    """``python -m tf_activations ARGS`` in a fresh process, with TF_CPP_MIN_LOG_LEVEL unset
    (as a user has it; CI sets it) unless given."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")
    if tf_log_level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = tf_log_level
    done = subprocess.run([sys.executable, "-m", "tf_activations", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _tf_log_lines(stderr):
    from tf_activations import _quiet

    return [line for line in stderr.splitlines() if _quiet.TF_LOG_LINE.match(line) or "oneDNN" in line]


def _printed_paths(stdout):
    return [line for line in stdout.splitlines() if os.path.isabs(line.strip()) or line.startswith(".")]


@pytest.mark.slow
def test_status_command_prints_no_tensorflow_log_lines():
    done = _run_cli(["status", "--names", "mish,relu", "--json"])
    assert _tf_log_lines(done.stderr) == [], done.stderr
    data = json.loads(done.stdout)
    assert list(data["paths"]) == ["mish", "relu"] and data["kernels"]["state"]
    text = _run_cli(["status", "--names", "relu"]).stdout
    assert "C++ kernels  " in text and "GPU/TPU" in text
    # the user's own level is obeyed: at 0 TensorFlow's lines are all there
    assert _tf_log_lines(_run_cli(["list"], tf_log_level="0").stderr)


@pytest.mark.slow
def test_commands_that_write_files_print_their_paths(tmp_path):
    plot = tmp_path / "p.png"
    done = _run_cli(["plot", "--names", "relu", "--out", str(plot)])
    assert done.stdout.splitlines() == [str(plot)] and plot.read_bytes()[:4] == b"\x89PNG"
    assert _tf_log_lines(done.stderr) == [], done.stderr

    done = _run_cli(["gallery", "--names", "relu", "--out", str(tmp_path / "g")])
    assert done.stdout.splitlines()[-1] == str(tmp_path / "g" / "index.html")
    assert (tmp_path / "g" / "index.html").is_file() and _tf_log_lines(done.stderr) == [], done.stderr

    done = _run_cli(["compare", "--names", "relu", "--depth", "1", "--width", "4", "--epochs", "1",
                     "--samples", "64", "--out", str(tmp_path / "c"), "--quiet"])
    written = _printed_paths(done.stdout)
    assert {os.path.basename(p) for p in written} >= {"table.txt", "results.json", "compare.png"}
    assert all(os.path.isfile(p) for p in written), written
    assert _tf_log_lines(done.stderr) == [], done.stderr


@pytest.mark.slow
def test_build_prints_the_library_path():
    from tf_activations import native

    if native.library_path() is None:
        pytest.skip("kernels not built here (CI builds them first); building is tests/test_builder.py's")
    done = _run_cli(["build", "--quiet"])
    # the library build chose for this CPU: the loaded one, or (where only the generic variant
    # was built, as .ci/check_install.sh does) the faster variant it has just built beside it
    (printed,) = done.stdout.splitlines()
    assert os.path.isfile(printed) and os.path.dirname(printed) == os.path.dirname(native.library_path())
    assert _tf_log_lines(done.stderr) == [], done.stderr


def test_tf_log_lines_are_recognised_by_severity():
    from tf_activations import _quiet

    info = ("I0000 00:00:1796544271.044926   12427 port.cc:153] oneDNN custom operations are on. You may see "
            "slightly different numerical results")
    error = "E0000 00:00:1796544275.191279   12427 cuda_platform.cc:52] failed call to cuInit: INTERNAL"
    old = "2024-01-02 10:11:12.123456: I tensorflow/core/platform/cpu_feature_guard.cc:182] This TensorFlow"
    notice = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
    assert [_quiet.hidden(line, 3) for line in (info, error, old, notice)] == [True] * 4
    assert [_quiet.hidden(line, 2) for line in (info, error, old, notice)] == [True, False, True, True]
    assert not any(_quiet.hidden(line, 0) for line in (info, error, old, notice))
    assert not _quiet.hidden("tf-activations: error: unknown activation name 'x'", 3)
    assert not _quiet.hidden("Traceback (most recent call last):", 3)
    assert not _quiet.is_cli()  # pytest is not the command line: a library import is never touched


@pytest.mark.parametrize("argv, orig, expected", [
    (["/venv/bin/tf-activations", "status"], ["/venv/bin/python", "/venv/bin/tf-activations", "status"], True),
    (["/x/tf_activations/__main__.py"], ["python", "-W", "ignore", "-m", "tf_activations", "list"], True),
    (["-m"], ["python", "-m", "tf_activations.native", "build"], True),
    (["-m"], ["python", "-m", "pytest", "-q"], False),
    (["-c"], ["python", "-c", "import tf_activations", "-m", "tf_activations"], False),
    (["train.py"], ["python", "train.py"], False),
])
def test_only_the_command_line_is_quietened(monkeypatch, argv, orig, expected):
    from tf_activations import _quiet

    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig, raising=False)
    assert _quiet.is_cli() is expected
