"""``python -m tf_activations``: see ``tf_activations.cli``."""

from tf_activations.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
