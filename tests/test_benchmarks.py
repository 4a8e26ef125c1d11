"""benchmarks/ (not part of the package): its shared timing module, its one entry point's options
and plan, and tiny runs whose tables keep the columns the README quotes. No test asserts a speed."""

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(ROOT, "benchmarks")
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)

import _timing  # noqa: E402
import bench  # noqa: E402
import kernel_table  # noqa: E402
import takeover  # noqa: E402

# torch's cells are measured first, in their own process, where torch is installed
TORCH = ["torch"] if kernel_table.torch_available() else []

# The tables' column headers, as `python -m tf_activations bench` printed them before the move.
TAKEOVER_HEADER = "activation       N      eager      graph graph-pure        xla    float16   plain  keras ms"
EAGER_HEADER = "activation            2^8 fwd      fb        2^10 fwd      fb        2^12 fwd      fb"
KERNEL_HEADER = ("activation       N        kernel         graph           xla         keras         torch"
                 "        copy  pure/k  keras/k  k/torch  k/best")
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] .+  elapsed \d+:\d\d, about \d+:\d\d left$")


def _plan(argv):
    return bench.plan(bench.make_parser().parse_args(argv))


def _run(argv, timeout=600):
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the benchmark keeps TensorFlow's C++ log off stderr itself
    return subprocess.run([sys.executable, os.path.join(BENCHMARKS, "bench.py"), *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


# ---- the shared timing module -------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


def test_round_robin_medians_visit_every_call_each_round_in_shuffled_orders(monkeypatch):
    """Each call is warmed up once, then made twice per round (untimed, timed) next to itself;
    the rounds visit all calls in varying orders; the result is each call's median in ms."""
    clock = FakeClock()
    monkeypatch.setattr(_timing, "time", clock)
    made = []

    def call(key, seconds):
        def run():
            made.append(key)
            clock.now += seconds
        return run

    ms = _timing.interleaved_medians({"a": call("a", 1e-3), "b": call("b", 3e-3), "c": call("c", 2e-3)}, repeats=9)
    assert ms == pytest.approx({"a": 1.0, "b": 3.0, "c": 2.0})
    assert made[:3] == ["a", "b", "c"]  # the warm-up
    rounds = [made[3 + 6 * r: 9 + 6 * r] for r in range(9)]
    orders = set()
    for r in rounds:
        assert r[0::2] == r[1::2] and sorted(r[0::2]) == ["a", "b", "c"], r
        orders.add(tuple(r[0::2]))
    assert len(orders) > 1


def test_max_ulp_counts_normal_results_only_and_nan_apart():
    one_ulp_up = float(np.nextafter(np.float32(1), np.float32(2)))
    exact = np.array([1.0, 1.0 + 2.0 ** -24, 3.0, 1e-40, 1e39, 2.0])
    y = np.array([one_ulp_up, 1.0, 3.0, 5.0, 7.0, np.nan], np.float32)
    err, nans = _timing.max_ulp(y, exact)
    assert err == 1.0 and nans == 1  # 1e-40 (subnormal) and 1e39 (inf in float32) do not count
    assert _timing.max_ulp(y[1:3], exact[1:3]) == (0.5, 0)  # half an ulp of 1.0: 2^-24 / 2^-23
    assert _timing.max_ulp(np.float32([2.5]), np.array([2.0])) == (2.0 ** 21, 0)  # 0.5 / 2^-22
    assert _timing.max_ulp(np.float32([5.0]), np.array([1e-40])) == (0.0, 0)  # nothing to judge


def test_losses_are_named_with_their_ratio():
    out = io.StringIO()
    _timing.report_losses({"a 2^20": 1.2, "b 2^20": 0.9, "c 2^20": 1.0}, "Keras", out)
    _timing.report_losses({"a 2^20": 1.04, "b 2^20": 1.06}, "Keras", out, bar=1.05)
    _timing.report_losses({"a 2^20": 0.5}, "torch", out)
    assert out.getvalue().splitlines() == ["losses to Keras (ratio > 1): 1 of 3: a 2^20 1.20",
                                           "losses to Keras (ratio > 1.05): 1 of 2: b 2^20 1.06",
                                           "losses to torch (ratio > 1): 0 of 1"]


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux' /proc/self/clear_refs")
def test_peak_rise_sees_what_a_step_touches():
    def step():
        block = np.ones(64 << 20, np.uint8)  # 64 MiB, every page written
        return int(block[::4096].sum())

    assert 60 <= _timing.peak_rise_mib(step) < 200


def test_progress_line_estimates_the_rest_from_the_finished_rows():
    clock = FakeClock()
    stream = io.StringIO()
    progress = _timing.Progress([10, 30], stream=stream, clock=clock.perf_counter)
    progress.row("first", 10)  # nothing finished: the a-priori 40 s
    clock.now = 20.0  # the first row took twice its estimate, so 30 s of estimate -> 60 s
    progress.row("second", 30)
    clock.now = 80.0
    progress.finish()
    assert stream.getvalue().splitlines() == [
        "[1/2] first  elapsed 0:00, about 0:40 left",
        "[2/2] second  elapsed 0:20, about 1:00 left",
        "done: 2 rows in 1:20",
    ]


def test_environment_header_names_date_machine_and_versions():
    import keras
    import tensorflow as tf

    lines = _timing.environment()
    assert re.match(r"# measured \d{4}-\d\d-\d\d \d\d:\d\d UTC on .+, \d+ cores", lines[0]), lines[0]
    for part in (f"tensorflow {tf.__version__}", f"keras {keras.__version__}", f"numpy {np.__version__}", "torch "):
        assert part in lines[1], (part, lines[1])
    import tf_activations

    assert f"tf_activations {tf_activations.__version__}" in lines[2] and "kernels:" in lines[2]
    assert "/" not in lines[2], "no path of this machine's in a page others read"


def test_a_child_process_finds_these_modules_and_the_checkout():
    """Memory and torch cells run in fresh processes started from any folder."""
    rss = _timing.run_child("_timing", "status_mib", ["VmRSS"])
    assert rss is not None and float(rss) > 0
    assert _timing.run_child("_timing", "no_such_function") is None  # a failure is None, not an exception


# ---- the entry point: options and plan --------------------------------------------------------

def test_help_lists_every_mode_and_level(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--takeover", "--eager", "--kernels", "--memory", "--model", "--accuracy", "--fix-cost",
                   "--quick", "--full", "--names", "--activations", "--sizes", "--dtype", "--out"):
        assert option in out, option


def test_names_take_activations_as_an_alias():
    """--names a,b, --names a b and --activations a,b name the same rows."""
    spellings = (["--names", "mish,gelu"], ["--names", "mish", "gelu"], ["--activations", "mish,gelu"])
    for argv in spellings:
        (label, _, costs), = _plan(["--takeover"] + argv)
        assert label == "takeover" and len(costs) == 2
    labels = [label for label, _, _ in _plan(["--names", "mish,snake"])]
    assert labels == TORCH + ["takeover", "eager", "kernels"]  # snake: a kernel row only


@pytest.mark.parametrize("argv, message", [
    (["--names", "nope"], "--names: unknown ['nope']; choose from sigmoid, tanh"),
    (["--kernels", "--names", "relu"], "--names: unknown ['relu']; choose from sigmoid"),
    (["--kernels", "--dtype", "int8"], "--dtype: unknown ['int8']; choose from float32, bfloat16"),
    (["--sizes", "a,b"], "--sizes 'a,b': give log2 sizes such as 16,20,24"),
    (["--sizes", "40"], "--sizes '40': each log2 size must be in 6..28"),
    (["--model", "--models", "resnet"], "--models: unknown ['resnet']; choose from mlp256"),
    (["--model", "--rounds", "0"], "--rounds must be at least 1; got 0"),
    (["--out", os.path.join(ROOT, "no", "such", "folder", "x.txt")], "give a file in an existing folder"),
])
def test_bad_options_are_one_error_naming_the_value(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_default_run_is_planned_at_about_three_minutes():
    """The summary by default: 2^20, fewer repeats than --full; timed at 2:58 on the 2-core machine."""
    work = _plan([])
    assert [label for label, _, _ in work] == TORCH + ["takeover", "eager", "kernels"]
    total = sum(sum(costs) for _, _, costs in work) + bench.STARTUP
    assert 100 <= total <= 200, total
    assert bench._sizes(bench.make_parser().parse_args([]), "summary") == [20]


def test_full_run_is_the_former_default_sweep():
    """--full: every Keras name at 2^16, 2^20, 2^24 with the former default's repeats, the eager
    table with 200 rounds, and the kernel table at the three sizes."""
    work = dict((label, costs) for label, _, costs in _plan(["--full"]))
    assert len(work["takeover"]) == 3 * len(takeover.TAKEOVER) == 93
    assert len(work["eager"]) == len(takeover.EAGER_NAMES)
    assert [takeover.repeats(1 << s, "full") for s in (16, 20, 24)] == [300, 150, 21]
    assert takeover.eager_repeats("full") == 200
    assert len(work["kernels"]) == 3 * len(kernel_table.CONFIGS)
    assert kernel_table.repeats(1 << 24, "full") == 7


# ---- tiny runs: the columns stay -------------------------------------------------------------

@pytest.mark.slow
def test_summary_prints_every_table_with_its_columns_and_progress(tmp_path):
    out = tmp_path / "report.txt"
    r = _run(["--sizes", "8", "--names", "mish,relu,snake", "--quick", "--out", str(out)])
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.splitlines()
    assert lines[0].startswith("# measured ") and lines[1].startswith("# python ")
    for header in (TAKEOVER_HEADER, EAGER_HEADER, KERNEL_HEADER):
        assert header in lines
    mish = next(line.split() for line in lines if line.startswith("mish ") and "2^8" in line)
    assert len(mish) == 2 + 7 and all(c == "=" or float(c) > 0 for c in mish[2:])
    assert any(line.startswith("snake ") for line in lines)
    assert lines[-1] == f"wrote {out}"
    assert out.read_text().splitlines() == lines[:-1]
    stderr = r.stderr.splitlines()
    tables = ", ".join(TORCH + ["takeover", "eager", "kernels"])
    assert re.match(rf"\d+ rows \({tables}\), estimated \d+:\d\d", stderr[0]), stderr[0]
    steps = [PROGRESS.match(line) for line in stderr[1:-1]]
    assert all(steps), stderr
    assert [int(m.group(1)) for m in steps] == list(range(1, len(steps) + 1))
    assert stderr[-1].startswith(f"done: {len(steps)} rows in ")
    assert not any("oneDNN" in line or line.startswith(("I0000", "W0000", "E0000")) for line in stderr)


@pytest.mark.slow
def test_kernel_table_prints_a_table_per_dtype_and_names_its_losses():
    """`--kernels` prints a table per dtype (float32 and bfloat16 by default) with kernel / the
    fastest peer in the last column, and the rows where that ratio is above 1 as losses."""
    from tf_activations import native

    if native.load() is None:
        pytest.skip("kernels not built")
    r = _run(["--kernels", "--sizes", "8", "--names", "silu", "--no-memory", "--quick", "--no-progress"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr == ""
    tables = r.stdout.split("times in ms")[1:]
    assert [t.split(";")[2].split()[0] for t in tables] == ["float32", "bfloat16"]
    for table in tables:
        assert KERNEL_HEADER in table.splitlines()
        row = next(line for line in table.splitlines() if line.startswith("silu"))
        k_best = float(row.split()[-1])  # a measured ratio, not "-"
        losses = next(line for line in table.splitlines() if line.startswith("losses to the fastest"))
        if losses.endswith(": 0 of 1"):
            assert k_best <= 1, (row, losses)
        else:
            assert losses.endswith(f": 1 of 1: silu 2^8 {k_best:.2f}") and k_best >= 1, (row, losses)


@pytest.mark.slow
def test_accuracy_table_judges_against_mpmath():
    """relu is exact in every column; Keras' relu too."""
    import accuracy

    out = io.StringIO()
    accuracy.run(["relu"], out=out)
    row = next(line.split() for line in out.getvalue().splitlines() if line.startswith("relu "))
    assert row[1:] == ["0.00"] * 4 + ["0"]
    assert "against mpmath" in out.getvalue()
