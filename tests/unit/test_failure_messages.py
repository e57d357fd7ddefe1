"""A failure is one line: the asset, the partitions and the cause, never a dump."""

import pytest
from sqlalchemy.exc import DBAPIError

from crm_scoring.defs.partitions import PartitionFailure, naming_partitions, one_line_cause
from crm_scoring.scope import day_scopes


def test_a_wrapped_driver_error_is_its_first_line_without_the_sql() -> None:
    driver_error = ValueError("value out of range\nCONTEXT: line 3\n")
    wrapped = DBAPIError("insert into t values (…)", {"x": 1}, driver_error)
    assert one_line_cause(wrapped) == "ValueError: value out of range"


def test_the_failure_names_asset_day_and_tenant_in_one_line() -> None:
    [scope] = day_scopes([("2026-03-15", "globex")], tz=None)
    with pytest.raises(PartitionFailure) as failure, naming_partitions("customer_scores", [scope]):
        raise RuntimeError("no churn_risk_score\nsecond line")
    assert failure.value.description == (
        "customer_scores failed for 2026-03-15 tenant(s) globex: RuntimeError: no churn_risk_score"
    )
