"""The package's imports point one way.

Layers, lowest first: declarations (``_spec``, ``catalog``) -> registry -> op builder ->
implementations (TensorFlow ops, composites, ``native``); ``properties`` (measurement)
above the registry; ``plotting`` above ``properties``; ``compare``, ``diagnostics``, the
command line and the package's ``__init__`` on top. Read from the source with ``ast``:
every import of a ``tf_activations`` module, at any depth (an import inside a function is
still an edge), so a circle cannot hide in a function body.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tf_activations"
# Modules that import the rest inside functions on purpose: the command line answers
# --help and build without importing TensorFlow.
LAZY_BY_DESIGN = {"tf_activations.cli", "tf_activations.native.cli"}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name, path, modules):
    """(imported module, inside a function?) for each tf_activations import in ``path``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((a.name, in_function) for a in child.names if a.name.startswith("tf_activations"))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if base.startswith("tf_activations"):
                    for alias in child.names:  # `from pkg import module` imports the module
                        target = f"{base}.{alias.name}"
                        found.append((target if target in modules else base, in_function))
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return found


def _graph():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for target, _ in _imports(name, path, modules):
            if target != name:
                edges.add(target)
            # importing a.b runs a's __init__ first
            parent = target.rpartition(".")[0]
            while parent and parent != name and not name.startswith(parent + "."):
                edges.add(parent)
                parent = parent.rpartition(".")[0]
        graph[name] = edges
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_finds_a_planted_cycle():
    graph = _graph()
    graph["tf_activations._spec"] = graph["tf_activations._spec"] | {"tf_activations.plotting"}
    assert _cycle(graph) is not None


@pytest.mark.parametrize("lower, upper", [
    ("tf_activations._spec", "tf_activations._registry"),
    ("tf_activations.catalog", "tf_activations._registry"),
    ("tf_activations._build", "tf_activations._registry"),
    ("tf_activations.native", "tf_activations._build"),
    ("tf_activations._registry", "tf_activations.properties"),
    ("tf_activations.properties", "tf_activations.plotting"),
    ("tf_activations.plotting", "tf_activations.compare"),
])
def test_lower_layers_never_reach_up(lower, upper):
    graph = _graph()
    reachable, todo = set(), [m for m in graph if m == lower or m.startswith(lower + ".")]
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt not in reachable:
                reachable.add(nxt)
                todo.append(nxt)
    assert upper not in reachable and "tf_activations" not in reachable, (lower, sorted(reachable))


def test_package_modules_import_each_other_at_the_top():
    """An import inside a function hides an edge (and often a circle) from the reader."""
    modules = _modules()
    hidden = {name: sorted({t for t, inside in _imports(name, path, modules) if inside})
              for name, path in modules.items() if name not in LAZY_BY_DESIGN}
    hidden = {name: targets for name, targets in hidden.items() if targets}
    assert not hidden, hidden


def _private(name):
    return name.startswith("_") and not name.startswith("__")


def test_no_module_uses_another_modules_private_names():
    """Neither ``from m import _x`` nor ``m._x`` for another package module ``m`` (its private
    modules, such as ``_registry``, are the package's to import)."""
    modules = _modules()
    private = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        imported = set()  # local names bound to package modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tf_activations"):
                for a in node.names:
                    if f"{node.module}.{a.name}" in modules:
                        imported.add(a.asname or a.name)
                    elif _private(a.name):
                        private.append(f"{name}: from {node.module} import {a.name}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in imported and _private(node.attr)):
                private.append(f"{name}: {node.value.id}.{node.attr}")
    assert not private, sorted(set(private))
