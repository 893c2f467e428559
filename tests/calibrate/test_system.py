"""Host facts: installed size of a distribution, peak RSS per kernel."""

from __future__ import annotations

import math

from calibrate.system import PeakRss, installed_size, tool_version, utc_now


def test_installed_size_of_a_distribution_and_its_requirements() -> None:
    size = installed_size(["typer"])
    assert size.core_bytes > 10_000
    assert size.total_bytes > size.core_bytes  # typer has requirements (rich, ...)
    assert "typer" in size.distributions and len(size.distributions) > 1


def test_installed_size_of_nothing_is_unknown() -> None:
    size = installed_size(["no-such-distribution-anywhere"])
    assert math.isnan(size.core_bytes) and math.isnan(size.total_bytes)


def test_peak_rss_is_reset_per_kernel() -> None:
    rss = PeakRss()
    rss.reset()
    before = rss.peak_bytes()
    block = bytearray(64 * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1
    grown = rss.peak_bytes()
    assert grown - before > 50e6
    del block
    rss.reset()
    if rss.since_reset:  # Linux: the high-water mark starts again from the current RSS
        assert rss.peak_bytes() < grown - 50e6


def test_versions_and_time() -> None:
    assert tool_version()
    assert utc_now().endswith("Z") and "T" in utc_now()
