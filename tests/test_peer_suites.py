"""Keras' own activation tests (shipped in its wheel) pass against this package, module swapped,
except the deliberate differences the README lists; TF Addons' too, given a checkout."""

import os

import pytest

from tests.peer_suites import run as peer


def _keras_ships_its_tests() -> bool:
    import keras

    return os.path.exists(os.path.join(os.path.dirname(keras.__file__), "src", peer.KERAS_FILES[0]))


@pytest.mark.slow
@pytest.mark.skipif(not _keras_ships_its_tests(), reason="this Keras wheel has no test files (3.10 has none; 3.15 has)")
def test_keras_own_activation_tests_pass_but_for_the_deliberate_differences():
    failed, status, output = peer.run("keras")
    assert status in (0, 1), output[-3000:]
    assert failed == set(peer.DELIBERATE["keras"]), output[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("TF_ADDONS_SOURCE"),
                    reason="TF Addons' tests are not in its wheel: set TF_ADDONS_SOURCE to a checkout")
def test_tf_addons_own_activation_tests_pass_but_for_the_deliberate_differences():
    failed, status, output = peer.run("addons", os.environ["TF_ADDONS_SOURCE"])
    assert status in (0, 1), output[-3000:]
    assert failed == set(peer.DELIBERATE["addons"]), output[-3000:]


def test_every_deliberate_difference_is_in_the_readme():
    with open(os.path.join(os.path.dirname(__file__), os.pardir, "README.md")) as f:
        readme = " ".join(f.read().split())
    for phrase in ("Integer input is a `TypeError`", "A `None` is a `TypeError`",
                   "a negative `threshold` or `negative_slope` is allowed", "sparsemax` of a slice with `+inf`"):
        assert phrase in readme, phrase
