"""Möbius MNIST benchmark (Weiler et al. 2021, Section 5): data, models, trainer, command line."""
