"""``python -m benchmarks.spherical_mnist``: spherical MNIST on the cube sphere and the icosahedral sphere."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
