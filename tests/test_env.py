"""Every TF_ACTIVATIONS_* on/off variable follows one rule (tf_activations._env.flag):
1/true/yes/on are on, unset/""/0/false/no/off are off (any case, spaces around), and any
other value is off with one warning naming the variable, the value and the accepted words.

EXACT and KEEP_KERAS_BUILTINS are read once at import, so they are checked in fresh
processes; PURE and SANITIZE are read at import and at every call.
"""

import warnings

import pytest

from conftest import run_python, tf_keras_supported
from tf_activations import _env, native
from tf_activations.native import builder

ON = ["1", "true", "TRUE", " yes ", "Yes", "on", "On"]
OFF = ["", "0", "false", "False", "no", " NO ", "off", "OFF"]
NEITHER = ["maybe", "2", "enable", "y", "nope"]
VARIABLES = ["TF_ACTIVATIONS_EXACT", "TF_ACTIVATIONS_PURE", "TF_ACTIVATIONS_KEEP_KERAS_BUILTINS",
             "TF_ACTIVATIONS_SANITIZE"]


@pytest.fixture(autouse=True)
def _forget_warnings(monkeypatch):
    monkeypatch.setattr(_env, "_warned", set())


def _read(monkeypatch, name, value, read):
    monkeypatch.setenv(name, value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = [read() for _ in range(3)]
    return result, [str(w.message) for w in caught]


READERS = {"flag": lambda: _env.flag("TF_ACTIVATIONS_TEST_FLAG"),
           "TF_ACTIVATIONS_PURE": native._pure_forced,
           "TF_ACTIVATIONS_SANITIZE": builder.sanitize_requested}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("value, expected", [(v, True) for v in ON] + [(v, False) for v in OFF])
def test_yes_and_no_words(monkeypatch, reader, value, expected):
    name = "TF_ACTIVATIONS_TEST_FLAG" if reader == "flag" else reader
    result, messages = _read(monkeypatch, name, value, READERS[reader])
    assert result == [expected] * 3
    assert messages == []


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("value", NEITHER)
def test_any_other_value_is_off_with_one_warning(monkeypatch, reader, value):
    name = "TF_ACTIVATIONS_TEST_FLAG" if reader == "flag" else reader
    result, messages = _read(monkeypatch, name, value, READERS[reader])
    assert result == [False] * 3
    assert len(messages) == 1, messages
    assert f"{name}={value!r}" in messages[0]
    assert "counts as off" in messages[0]
    assert "1, true, yes, on" in messages[0] and "0, false, no, off" in messages[0]


def test_unset_is_off_without_a_warning(monkeypatch):
    monkeypatch.delenv("TF_ACTIVATIONS_TEST_FLAG", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _env.flag("TF_ACTIVATIONS_TEST_FLAG") is False


def test_env_module_imports_nothing_of_the_package():
    run_python("""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("env_alone", "tf_activations/_env.py")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        assert not [m for m in sys.modules if m.startswith(("tf_activations", "tensorflow", "keras"))]
    """)


# Each fresh process sets all four variables to the same word and reads each the way the
# package does at import.
AT_IMPORT = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import tf_activations as ta
    from tf_activations import native
    from tf_activations.native import builder
    seen = {{"TF_ACTIVATIONS_EXACT": ta.is_exact(), "TF_ACTIVATIONS_PURE": native._pure_forced(),
             "TF_ACTIVATIONS_KEEP_KERAS_BUILTINS": not ta.keras_strings.overrides_builtins(),
             "TF_ACTIVATIONS_SANITIZE": builder.sanitize_requested()}}
mine = [str(w.message) for w in caught if "TF_ACTIVATIONS_" in str(w.message)]
assert seen == dict.fromkeys(seen, {expected}), seen
for name in seen:
    named = [m for m in mine if m.startswith(f"tf_activations: {{name}}={{{value!r}!r}}")]
    assert len(named) == {warnings}, (name, mine)
assert len(mine) == 4 * {warnings}, mine
"""


# Each word is checked in-process above; at import, one of each kind (a fresh process each).
@pytest.mark.parametrize("value, expected", [("On", True), (" OFF ", False), ("maybe", False)])
def test_every_variable_read_at_import(tmp_path, value, expected):
    env = dict.fromkeys(VARIABLES, value)
    env["TF_ACTIVATIONS_CACHE"] = str(tmp_path / "cache")
    run_python(AT_IMPORT.format(value=value, expected=expected, warnings=int(value == "maybe")), env=env)


@pytest.mark.skipif(not tf_keras_supported(), reason="tf_keras not installed or older than 2.21")
@pytest.mark.parametrize("value, ours", [("No", True), ("yes", False), ("maybe", True)])
def test_keep_keras_builtins_in_tf_keras(value, ours):
    run_python(f"""
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import tf_activations as ta
            import tf_keras as k
        assert (k.activations.get("mish") is ta.mish) is {ours}
        mine = [str(w.message) for w in caught if "TF_ACTIVATIONS_KEEP_KERAS_BUILTINS" in str(w.message)]
        assert len(mine) == {int(value == "maybe")}, mine
    """, env={"TF_USE_LEGACY_KERAS": "1", "TF_ACTIVATIONS_KEEP_KERAS_BUILTINS": value})
