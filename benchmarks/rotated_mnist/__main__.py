"""``python -m benchmarks.rotated_mnist``: rotated MNIST on the plane, gaugecnn beside escnn."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
