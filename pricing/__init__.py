"""pricing: what compute costs.

Cloud and GPU-cloud instance prices as a long-format offer table (one price per row, see ``pricing.schema``),
from an embedded dated snapshot (``pricing/data/``; who sells what: ``pricing.sellers``) or from live pulls
stored in a local SQLite database (``pricing.pull``, ``pricing.store``), with a team's own rates applied on
top (``pricing.pricebook``). Importing this package loads nothing heavy: pandas, boto3 and the Google client
load inside the functions that need them.
"""
