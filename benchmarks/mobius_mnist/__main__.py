"""``python -m benchmarks.mobius_mnist``: reproduce the Möbius MNIST table of Weiler et al. (2021)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
