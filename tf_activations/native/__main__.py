import sys

from tf_activations.native.cli import main

sys.exit(main())
