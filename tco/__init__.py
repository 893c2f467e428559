"""tco: what deep-learning training and serving will cost.

Importing this package is cheap on purpose: the CLI's start-up time is a feature (see benchmarks/).
"""

__version__ = "0.1.0"
