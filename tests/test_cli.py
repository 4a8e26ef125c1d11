"""python -m tf_activations: commands run in-process via cli.main(argv); one subprocess smoke test."""

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
    for command in ("list", "info", "plot", "gallery", "compare", "build", "bench"):
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


def test_unknown_name_prints_the_registry_error_and_exits_2(capsys):
    assert cli.main(["info", "mishh"]) == 2
    err = capsys.readouterr().err
    assert "unknown activation name 'mishh'" in err and "Did you mean 'mish'" in err
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


def test_build_and_bench_pass_their_arguments_to_the_native_cli(monkeypatch):
    from tf_activations.native import cli as native_cli

    seen = []
    monkeypatch.setattr(native_cli, "build_main", lambda argv: seen.append(("build", argv)) or 7)
    monkeypatch.setattr(native_cli, "bench_main", lambda argv: seen.append(("bench", argv)) or 0)
    assert cli.main(["build", "--force"]) == 7  # a first argument starting with "-" is not eaten
    assert cli.main(["bench", "--sizes", "16", "--quick"]) == 0
    assert seen == [("build", ["--force"]), ("bench", ["--sizes", "16", "--quick"])]


def test_smoke_subprocess():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-m", "tf_activations", "info", "nope"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 2
    assert "unknown activation name 'nope'" in out.stderr and "Traceback" not in out.stderr
