"""pricing: what compute costs.

Cloud instance prices as a long-format offer table (one price per row, see ``pricing.schema``), from an
embedded dated snapshot (``pricing/data/``) or from live pulls stored in a local SQLite database.
Importing this package loads nothing heavy: pandas, boto3 and the Google client load inside the functions
that need them.
"""
