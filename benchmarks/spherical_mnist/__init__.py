"""Spherical MNIST: digits projected onto the cube sphere and the icosahedral sphere (``python -m benchmarks.spherical_mnist``)."""
