"""Fixtures for the tracker's tests: no network, quiet frameworks."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


class NetworkBlocked(RuntimeError):
    pass


def _local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every connection off this machine fails the test (a tracked run must never reach the network)."""
    attempts: list[Any] = []
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex

    def guarded(self: socket.socket, address: Any) -> Any:
        if not _local(address):
            attempts.append(address)
            raise NetworkBlocked(f"a test tried to reach {address!r}")
        return connect(self, address)

    def guarded_ex(self: socket.socket, address: Any) -> Any:
        if not _local(address):
            attempts.append(address)
            raise NetworkBlocked(f"a test tried to reach {address!r}")
        return connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_ex)
    yield attempts
    assert attempts == [], f"network access attempted: {attempts}"


@pytest.fixture
def no_gc() -> Iterator[None]:
    """The garbage collector paused while a test times steps against its own timer: a full collection in a
    long test process can take tens of milliseconds, landing in one timer's window and not the other's."""
    import gc

    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
