"""Rotated MNIST on the plane: gauge CNNs under C4, C8, C16 and SO(2), beside escnn."""
