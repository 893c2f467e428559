"""The provider interface: registry (lazy, with suggestions), retry policy and the retry loop."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pricing.errors import PricingError
from pricing.providers.base import (
    PROVIDER_CLIENTS,
    ClientOptions,
    PriceClient,
    Retry,
    RetryPolicy,
    check_provider_name,
    make_client,
    with_retries,
)


def test_every_registered_provider_builds_a_client() -> None:
    for name in PROVIDER_CLIENTS:
        client: PriceClient = make_client(name, ClientOptions(endpoint="http://127.0.0.1:9"))
        assert client.name == name and callable(client.fetch)


def test_unknown_provider_suggests_the_close_one() -> None:
    with pytest.raises(PricingError, match=r"unknown price provider 'azur' \(did you mean azure\?\)"):
        check_provider_name("azur")
    with pytest.raises(PricingError, match=r"did you mean oci\?"):
        check_provider_name("oracle")
    with pytest.raises(PricingError, match="choose one of: aws, gcp, azure, oci"):
        check_provider_name("alibaba")


def test_registry_imports_no_sdk_until_asked() -> None:
    code = (
        "import sys\nimport pricing.pull, pricing.providers.base as b\n"
        "assert 'boto3' not in sys.modules and 'google.cloud' not in sys.modules\n"
        "b.client_factory('azure')\nassert 'boto3' not in sys.modules\n"
        "b.client_factory('aws')\nprint('pricing.providers.aws' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_endpoint_from_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TCO_GCP_BILLING_ENDPOINT", "http://127.0.0.1:1234")
    assert ClientOptions().endpoint_for("gcp") == "http://127.0.0.1:1234"
    assert ClientOptions(endpoint="http://127.0.0.1:5").endpoint_for("gcp") == "http://127.0.0.1:5"
    assert ClientOptions().endpoint_for("aws") is None


def test_backoff_grows_exponentially_with_full_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(attempts=6, base_delay_s=0.5, max_delay_s=3.0)
    assert [policy.delay_s(n, rng=lambda: 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay_s(3, rng=lambda: 0.25) == 0.5
    assert policy.delay_s(1, retry_after_s=2.0) == 2.0
    assert policy.delay_s(1, retry_after_s=60.0) == 3.0  # capped


def test_options_are_validated() -> None:
    with pytest.raises(PricingError, match="at least 1"):
        RetryPolicy(attempts=0)
    with pytest.raises(PricingError, match="timeout must be a positive number"):
        ClientOptions(timeout_s=0)
    for delay in (float("nan"), float("inf"), -1.0):
        with pytest.raises(PricingError, match="backoff must be a finite number of seconds"):
            RetryPolicy(base_delay_s=delay)


def test_with_retries_retries_transient_failures_only() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset")
        return "ok"

    def classify(exc: BaseException) -> Retry | None:
        return Retry("connection failed") if isinstance(exc, ConnectionError) else None

    policy = RetryPolicy(attempts=3, base_delay_s=0.1)
    assert with_retries(flaky, policy=policy, classify=classify, sleep=sleeps.append) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2

    def broken() -> str:
        calls.append(1)
        raise ValueError("permanent")

    calls.clear()
    with pytest.raises(ValueError, match="permanent"):
        with_retries(broken, policy=policy, classify=classify, sleep=sleeps.append)
    assert len(calls) == 1

    def always_down() -> str:
        calls.append(1)
        raise ConnectionError("down")

    calls.clear()
    with pytest.raises(ConnectionError):
        with_retries(always_down, policy=policy, classify=classify, sleep=lambda s: None)
    assert len(calls) == 3
