"""The one compiled part of tco: the native AWS Price List reader (``pricing/_pricelist.c``, issue 14).

Everything else is configured in pyproject.toml. The extension is optional: where it cannot be compiled
(no C compiler), the install goes on and the msgspec structs read every product
(``pricing.providers.aws.iter_digests``)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("pricing._pricelist", sources=["pricing/_pricelist.c"], optional=True)])
