"""A day's tenants cut into batches of bounded customers: what each scoring step holds at once."""

import pytest

from crm_scoring.scope import tenant_batches
from crm_scoring.settings import BATCH_CUSTOMERS_ENV, ConfigError, batch_customers


def test_tenants_fill_a_batch_until_the_next_would_pass_the_bound() -> None:
    # 40 + 30 = 70; + 50 would be 120 > 100, so c starts the next batch: 50 + 10 = 60.
    counts = {"a": 40, "b": 30, "c": 50, "d": 10}
    assert tenant_batches(["a", "b", "c", "d"], counts, 100) == [("a", "b"), ("c", "d")]


def test_a_batch_may_reach_the_bound_exactly() -> None:
    assert tenant_batches(["a", "b", "c"], {"a": 60, "b": 40, "c": 1}, 100) == [("a", "b"), ("c",)]


def test_a_tenant_over_the_bound_is_a_batch_of_its_own_never_split() -> None:
    counts = {"a": 10, "big": 500, "b": 20}
    assert tenant_batches(["a", "big", "b"], counts, 100) == [("a",), ("big",), ("b",)]


def test_the_given_order_is_kept() -> None:
    assert tenant_batches(["z", "a", "m"], {"z": 2, "a": 2, "m": 2}, 4) == [("z", "a"), ("m",)]


def test_a_tenant_without_rows_costs_nothing() -> None:
    assert tenant_batches(["a", "empty"], {"a": 100}, 100) == [("a", "empty")]


def test_no_tenant_no_batch() -> None:
    assert tenant_batches([], {}, 100) == []


def test_the_integration_dataset_under_a_bound_of_two() -> None:
    # tests/integration/dataset.py: acme has 6 customers, globex 1; either alone passes 2 or not.
    assert tenant_batches(["acme", "globex"], {"acme": 6, "globex": 1}, 2) == [("acme",), ("globex",)]


def test_the_bound_defaults_to_100k_and_must_be_a_positive_whole_number(monkeypatch) -> None:
    monkeypatch.delenv(BATCH_CUSTOMERS_ENV, raising=False)
    assert batch_customers() == 100_000
    monkeypatch.setenv(BATCH_CUSTOMERS_ENV, "2")
    assert batch_customers() == 2
    for bad in ("0", "-5", "1e5", ""):
        monkeypatch.setenv(BATCH_CUSTOMERS_ENV, bad)
        with pytest.raises(ConfigError, match=BATCH_CUSTOMERS_ENV):
            batch_customers()
