"""Benchmarks of tf_activations against Keras, the plain formula (tf.function and XLA) and torch.

    python benchmarks/bench.py                    # the summary, about 3 minutes on 2 cores
    python benchmarks/bench.py --full             # the same tables at 2^16, 2^20, 2^24 (about 20 min)
    python benchmarks/bench.py --kernels          # kernels per dtype + a training step's memory
    python benchmarks/bench.py --model            # a Keras training step, Keras' activations vs ours
    python benchmarks/bench.py --accuracy [--dense]   # max float32 ulp error, ours beside Keras'
    python benchmarks/bench.py --markdown docs/benchmarks.md   # the summary, written as the docs page

Run it from a clone of the repository (the installed package carries no benchmark code); it
measures the clone's tf_activations with whatever kernels `python -m tf_activations build` made.
Every comparison is forward+backward with y and dx both returned (as in a training step),
float32 unless said, candidates timed round-robin in one process (medians); a ratio is ours
over the peer, so a ratio above 1 is a loss and is reported as one. A progress line (what is
measured, k of n, elapsed, time left) goes to stderr; the tables go to stdout, after the date,
machine and versions they were measured on.

Modes (one at a time):
  (none)       the summary: the takeover table (every name Keras 3 has: ours / Keras' function
               eager, in tf.function with and without kernels, under XLA, in float16, and
               ours / the plain float32 formula), the eager per-call table on small tensors, and
               the kernel table in float32 (kernel, plain formula in tf.function and under XLA,
               Keras, torch's CPU kernel in its own process, a copy); 2^20 elements
  --takeover   the takeover table alone
  --eager      the eager per-call table alone (2^8, 2^10, 2^12 elements)
  --kernels    the kernel table for each --dtype, then the training-step memory table
  --memory     the kernel memory table alone: peak memory of one SGD step of 8 x Dense(1024),
               batch 8192, per path (kernel, plain graph, XLA, Keras), a fresh process each
  --model      a Keras training step (MLPs and a conv net): Keras' activation, ours, ours without
               kernels; median step ms and ratios, then peak memory per variant
  --accuracy   max float32 error in ulp against mpmath (--dense: 5.6M points against float64)
  --fix-cost   what a one-op fix around three Keras ops would cost (why the default omits it)

torch runs with as many threads as cores (TFA_BENCH_TORCH_THREADS=N to change); its OpenMP
threads stall in whole scheduler slices when another process wants a core, so time on a quiet
machine (a torch column of round 8 or 16 ms at 2^20 is that stall, not torch).

Levels: --quick (fewest repeats: a smoke run), the default (fewer repeats than --full; the
summary at 2^20 only), --full (the repeats the README's tables were measured with, at 2^16,
2^20 and 2^24; --kernels and --fix-cost always cover the three sizes).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[1:1] = [p for p in (os.path.dirname(HERE),) if p not in sys.path]  # the clone's package
_USER_ENV = frozenset(os.environ)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _timing  # noqa: E402
import accuracy  # noqa: E402
import kernel_table as kernels  # noqa: E402
import keras_fix_cost  # noqa: E402
import takeover  # noqa: E402
import train_step  # noqa: E402

MODES = ("takeover", "eager", "kernels", "memory", "model", "accuracy", "fix_cost")
SUMMARY = "summary"
FULL_SIZES = [16, 20, 24]
STARTUP = 5.0  # seconds to import TensorFlow and reach the first row on this machine


class UsageError(Exception):
    pass


def _names(values):
    """Names from ``--names a b`` or ``--names a,b`` (or both, repeated)."""
    out = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _check(names, allowed, what):
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise UsageError(f"{what}: unknown {unknown}; choose from {', '.join(allowed)}")
    return names


def make_parser():
    parser = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--takeover", dest="mode", action="store_const", const="takeover",
                      help="the takeover table alone (ours / Keras on every path)")
    mode.add_argument("--eager", dest="mode", action="store_const", const="eager",
                      help="the eager per-call table alone (small tensors, 2^8-2^12)")
    mode.add_argument("--kernels", dest="mode", action="store_const", const="kernels",
                      help="the kernel table per --dtype (kernel vs plain graph, XLA, Keras, torch, a copy), "
                           "then the memory table unless --no-memory")
    mode.add_argument("--memory", dest="mode", action="store_const", const="memory",
                      help="the kernel memory table alone (an SGD step of 8 x Dense(1024) per path)")
    mode.add_argument("--model", dest="mode", action="store_const", const="model",
                      help="a Keras training step per --models: Keras' activation vs ours vs ours without "
                           "kernels, then its memory table unless --no-memory")
    mode.add_argument("--accuracy", dest="mode", action="store_const", const="accuracy",
                      help="max float32 error in ulp of every elementwise name, ours beside Keras'")
    mode.add_argument("--fix-cost", dest="mode", action="store_const", const="fix_cost",
                      help="fixed / Keras' function for elu, softsign, gelu")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--quick", dest="level", action="store_const", const="quick",
                       help="fewest repeats (a smoke run: the numbers are noisy)")
    level.add_argument("--full", dest="level", action="store_const", const="full",
                       help="the full sweep: all repeats at 2^16, 2^20 and 2^24 (the summary takes about "
                            "20 minutes on 2 cores)")
    parser.add_argument("--names", "--activations", dest="names", nargs="+", action="extend", metavar="NAMES",
                        help="only these, comma- or space-separated (--activations is an alias); default: "
                             "every name of the table")
    parser.add_argument("--sizes", help="log2 sizes, comma separated (default: 20; --full, --kernels and "
                                        "--fix-cost: 16,20,24)")
    parser.add_argument("--dtype", default="float32,bfloat16",
                        help="--kernels: the tensors' dtypes, comma separated, a table each (float32, bfloat16, "
                             "float16, float64; default float32,bfloat16); torch stays float32")
    parser.add_argument("--no-memory", action="store_true", help="--kernels, --model: skip the memory table")
    parser.add_argument("--memory-names", "--memory-activations", dest="memory_names", nargs="+",
                        action="extend", metavar="NAMES",
                        help="--kernels, --memory: default mish,gelu,swish; --model: default mish,silu")
    parser.add_argument("--models", default=",".join(train_step.MODELS),
                        help=f"--model: comma separated, from {','.join(train_step.MODELS)}")
    parser.add_argument("--memory-models", default="mlp1024,conv64", help="--model: models for the memory table")
    parser.add_argument("--rounds", type=int, default=15, help="--model: timed steps per variant (default 15)")
    parser.add_argument("--dense", action="store_true", help="--accuracy: 5.6M points against the float64 path")
    parser.add_argument("--out", metavar="FILE", help="also write the report (with its environment header) to FILE")
    parser.add_argument("--markdown", metavar="FILE",
                        help="also write the report as a Markdown page to FILE (docs/benchmarks.md, "
                             "docs/accuracy.md): the command that regenerates it, then the date, machine, "
                             "versions and tables")
    parser.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    return parser


def _sizes(args, mode):
    if args.sizes:
        try:
            sizes = [int(s) for s in args.sizes.split(",")]
        except ValueError:
            raise UsageError(f"--sizes {args.sizes!r}: give log2 sizes such as 16,20,24") from None
        if any(not 6 <= s <= 28 for s in sizes):
            raise UsageError(f"--sizes {args.sizes!r}: each log2 size must be in 6..28")
        return sizes
    if args.level == "full" or mode in ("kernels", "fix_cost"):
        return FULL_SIZES
    return [20]


def plan(args):
    """The work as a list of (label, table function, cost list), checked before anything runs."""
    mode = args.mode or SUMMARY
    level = args.level or "default"
    names = _names(args.names)
    out = []

    if mode == "model":
        models = _check(args.models.split(","), list(train_step.MODELS), "--models")
        memory_models = _check(args.memory_models.split(","), list(train_step.MODELS), "--memory-models")
        from tf_activations._registry import KERAS_FUNCTIONS

        act = _check(names or list(train_step.ACTIVATIONS), list(KERAS_FUNCTIONS), "--names (a Keras name)")
        mem = _check(_names(args.memory_names) or ["mish", "silu"], list(KERAS_FUNCTIONS), "--memory-names")
        if args.rounds < 1:
            raise UsageError(f"--rounds must be at least 1; got {args.rounds}")
        out.append(("model", lambda o, p: (train_step.header(o), train_step.timing(models, act, args.rounds, o, p)),
                    [train_step.timing_cost(m, act, args.rounds) for m in models]))
        if not args.no_memory:
            out.append(("model memory", lambda o, p: train_step.memory(memory_models, mem, o, p),
                        [train_step.MEMORY_ROW_COST] * (len(memory_models) * len(mem))))
        return out

    if mode == "accuracy":
        act = _check(names or accuracy.names(), accuracy.names(), "--names (an elementwise name)")
        return [("accuracy", lambda o, p: accuracy.run(act, args.dense, o, p), [accuracy.row_cost(args.dense)] * len(act))]

    sizes = _sizes(args, mode)
    if mode == "fix_cost":
        return [("fix cost", lambda o, p: keras_fix_cost.run(sizes, level, o, p),
                 [keras_fix_cost.row_cost(s, level) for s in sizes for _ in keras_fix_cost.NAMES])]

    kernel_names = list(kernels.CONFIGS)
    memory_names = _check(_names(args.memory_names) or ["mish", "gelu", "swish"], kernel_names, "--memory-names")
    if mode in (SUMMARY, "takeover", "eager"):
        allowed = list(takeover.TAKEOVER) + ([n for n in kernel_names if n not in takeover.TAKEOVER]
                                             if mode == SUMMARY else [])
        _check(names, allowed, "--names")
    if mode in (SUMMARY, "takeover"):
        tk = [n for n in names if n in takeover.TAKEOVER] if names else list(takeover.TAKEOVER)
        if tk:
            out.append(("takeover", lambda o, p: takeover.takeover(sizes, tk, level, o, p),
                        [takeover.row_cost(n, s, level) for s in sizes for n in tk]))
    if mode in (SUMMARY, "eager"):
        eager = ([n for n in names if n in takeover.TAKEOVER and n not in takeover.VECTOR] if names
                 else list(takeover.EAGER_NAMES))
        if eager:
            out.append(("eager", lambda o, p: takeover.eager_overhead(eager, takeover.EAGER_SIZES, level, o, p),
                        [takeover.eager_row_cost(takeover.EAGER_SIZES, level)] * len(eager)))
    if mode in (SUMMARY, "kernels"):
        kn = [n for n in names if n in kernels.CONFIGS] if mode == SUMMARY else _check(names, kernel_names, "--names")
        kn = kn if names else kernel_names
        dtypes = ["float32"] if mode == SUMMARY else args.dtype.split(",")
        bad = [d for d in dtypes if d not in kernels.DTYPES]
        if bad:
            raise UsageError(f"--dtype: unknown {bad}; choose from {', '.join(kernels.DTYPES)}")
        if kn:
            torch = {}
            if kernels.torch_available():
                torch_cost = kernels.torch_cost(sizes, kn, level)

                def measure_torch(o, p, kn=kn):
                    p.row("torch in its own process", torch_cost)
                    torch.update(kernels.torch_times(sizes, kn, level))

                # first, before this process has run any TensorFlow op: torch's threads get the cores
                # to themselves (its OpenMP threads stall in whole scheduler slices when they share)
                out.insert(0, ("torch", measure_torch, [torch_cost]))

            def kernel_tables(o, p, kn=kn, dtypes=dtypes):
                for i, dtype in enumerate(dtypes):
                    if i or mode == SUMMARY:
                        print(file=o)
                    kernels.run(sizes, kn, level, o, dtype, torch, p)

            out.append(("kernels", kernel_tables, [kernels.row_cost(s, level) for _ in dtypes for s in sizes for _ in kn]))
    if mode == "memory" or (mode == "kernels" and not args.no_memory):
        out.append(("memory", lambda o, p: kernels.memory(memory_names, o, p),
                    [kernels.MEMORY_ROW_COST] * len(memory_names)))
    return out


@contextlib.contextmanager
def _native_log_muted():
    """TensorFlow's C++ log lines (oneDNN, CUDA probing, ...) go to a file instead of between the
    progress lines, unless the user chose a level with TF_CPP_MIN_LOG_LEVEL; TF 2.21 writes some
    before its logger reads that variable. Python's own stderr (the progress line, warnings,
    tracebacks) is kept on the terminal; if the run fails, the log's tail is shown."""
    if "TF_CPP_MIN_LOG_LEVEL" in _USER_ENV:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    log = tempfile.TemporaryFile()
    os.dup2(log.fileno(), 2)
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1)
    try:
        yield
    except Exception:
        log.seek(0)
        tail = log.read().decode(errors="replace").strip().splitlines()[-20:]
        if tail:
            print("TensorFlow's log before the failure:\n" + "\n".join(tail), file=sys.stderr)
        raise
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        log.close()


PAGE_TITLES = {SUMMARY: "Benchmarks: ours against Keras, the plain formula and torch",
               "accuracy": "Accuracy: max float32 error in ulp, ours beside Keras'"}
_READING = ("Every timing is forward+backward with y and dx both returned (as in a training step), "
            "candidates timed round-robin in one process, medians; a ratio is ours over the peer, so a "
            "ratio above 1 is a loss. `python benchmarks/bench.py --help` describes every mode and column.")


_ACCURACY_READING = (
    "Max float32 error in ulp of the exact result, over [-100, 100] and 1e-30 .. 3e38 of both signs, where "
    "the exact result is a normal float32 (--dense: 5.6M points against the float64 path). `default` is what "
    "runs after `import tf_activations` with the kernels built (a kernel where one is dispatched, else Keras' "
    "own function, else our float32 formula), `default-pure` the same without kernels (XLA, TFLite, GPUs, no "
    "compiler), `exact` and `exact-pure` the same inside `tf_activations.exact()`; `keras 3` is Keras' own "
    "function, blank where Keras has none.")


def markdown_page(argv, mode, report):
    """The report as a Markdown page whose top names the command that regenerates it."""
    command = " ".join(["python", "benchmarks/bench.py", *argv])
    title = PAGE_TITLES.get(mode, f"Benchmarks: bench.py --{mode.replace('_', '-')}")
    header = [line[2:] for line in report.splitlines() if line.startswith("# ")]
    tables = "\n".join(line for line in report.splitlines() if not line.startswith("# ")).strip("\n")
    timing = "" if mode == "accuracy" else " on a quiet machine (nothing else running)"
    lines = [f"# {title}", "",
             f"Generated; do not edit. Regenerate from a clone{timing}, with the kernels built "
             f"(`python -m tf_activations build`):", "",
             "```bash", command, "```", "",
             *(f"- {line}" for line in header), ""]
    lines += [_ACCURACY_READING if mode == "accuracy" else _READING, ""]
    lines += ["<!-- illustrative: measurements of the run named above; the command regenerates them -->",
              "```text", tables, "```", ""]
    return "\n".join(lines)


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)

    def flush(self):
        for s in self.streams:
            s.flush()


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    with _native_log_muted():  # plan() may import TensorFlow (Keras' names)
        try:
            work = plan(args)
            for option, path in (("--out", args.out), ("--markdown", args.markdown)):
                if path and (os.path.isdir(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path)))):
                    raise UsageError(f"{option} {path!r}: give a file in an existing folder")
        except UsageError as err:
            parser.error(str(err))
        costs = [c for _, _, cs in work for c in cs]
        progress = _timing.Progress(costs, enabled=not args.no_progress, startup=STARTUP)
        if not args.no_progress:
            print(f"{len(costs)} rows ({', '.join(label for label, _, _ in work)}), estimated "
                  f"{_timing._clock(progress.total)} on a 2-core machine", file=sys.stderr, flush=True)
        report = open(args.out, "w", encoding="utf-8") if args.out else None
        page = io.StringIO() if args.markdown else None
        out = _Tee(*(s for s in (sys.stdout, report, page) if s is not None))
        try:
            for line in _timing.environment():
                print(line, file=out)
            for _, table, _ in work:
                table(out, progress)
            progress.finish()
        finally:
            if report:
                report.close()
    if args.markdown:
        argv = sys.argv[1:] if argv is None else list(argv)
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(markdown_page(argv, args.mode or SUMMARY, page.getvalue()))
    for path in (args.out, args.markdown):
        if path:
            print(f"wrote {os.path.abspath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
