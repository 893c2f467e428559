"""The projection model: pure and vectorised (frames in, frames out; no I/O, no printing).

Modules:

* :mod:`tco.model.formulas` - every cost formula, defined once (expressions of :mod:`tco.model.formula`,
  evaluated here on arrays and written by the workbooks as live spreadsheet formulas)
* :mod:`tco.model.work` - training FLOPs (6ND + attention term, MoE active parameters, samples, raw FLOPs)
* :mod:`tco.model.throughput` - where the speed comes from (calibration, transferred, assumed MFU)
* :mod:`tco.model.scaling` - layout and scaling efficiency from a communication model
* :mod:`tco.model.purchase` - on-demand, spot (interruptions), commitments, owned: what a run costs
* :mod:`tco.model.ownership` - owned-hardware TCO (capex, power, colocation, maintenance, staff, break-even)
* :mod:`tco.model.offers` - catalog offers, owned nodes and overrides as purchase options
* :mod:`tco.model.overheads` - non-compute line items (storage, egress, MLOps, engineering)
* :mod:`tco.model.training` - the training grid
* :mod:`tco.model.serving` - the serving grid (prefill, decode, batch, replicas)
* :mod:`tco.model.assumptions` - every named default with its range and source

Importing this package imports no pandas or numpy; the modules import them inside their functions.
"""
