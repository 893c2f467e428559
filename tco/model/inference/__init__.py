"""The serving engine model behind :mod:`tco.model.serving` (docs/serving_model.md).

* :mod:`tco.model.inference.memory` - bytes: weights by dtype (quantisation scales, 16-bit embeddings), KV
  cache per token (KV dtype, GQA, head dim, tensor-parallel sharding), paged blocks, the runtime reserve and
  the sequences that fit.
* :mod:`tco.model.inference.step` - the time of one continuous-batching step: weight and KV bytes at a
  TP-dependent bandwidth efficiency, decode and prefill FLOPs (attention over the context) at a compute
  efficiency, tensor-parallel all-reduces, MoE experts touched, a fixed step overhead.
* :mod:`tco.model.inference.queueing` - load: TTFT and TPOT p50/p99 at a request rate (slot queue, prefill
  queue, prefill/decode interference) and the highest rate a replica serves within its SLOs.

Pure numpy over arrays (one value per row, or rows x candidates); no pandas, no I/O.
"""
