"""Framework backends: one module per framework behind :class:`calibrate.backends.base.Backend`."""
