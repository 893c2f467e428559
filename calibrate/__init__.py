"""calibrate: how fast compute is, measured.

Calibration kernels per framework (PyTorch, JAX, TensorFlow), each imported only inside its backend.
Importing this package never imports a framework.
"""
