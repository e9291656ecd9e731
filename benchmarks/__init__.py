"""Benchmarks: Möbius MNIST (``python -m benchmarks.mobius_mnist``)."""
