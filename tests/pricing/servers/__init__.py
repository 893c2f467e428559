"""Loopback HTTP servers that speak the providers' price APIs, for tests and benchmarks (127.0.0.1 only)."""
