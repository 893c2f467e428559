"""Live price clients, one module per provider (``aws``, ``gcp``, ``azure``) behind ``base.PriceClient``.

Importing this package imports no SDK: :func:`pricing.providers.base.make_client` loads a provider's module
(and it loads boto3 or the Google client) only when that provider is asked for.
"""
