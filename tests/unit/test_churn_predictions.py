"""Which registry model predicts a day (point in time), and the prediction rows it makes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from crm_scoring.model.serving import (
    DRIVER_COLUMNS,
    RegistryEntry,
    drivers_count,
    learned_until,
    model_for_day,
    prediction_rows,
)
from crm_scoring.model.training import PER_TENANT, train_churn_models
from crm_scoring.warehouse.model_inputs import activity_types_of
from tests.unit.churn_frames import CONFIG, NOISE, SIGNAL, synthetic

DAY = date(2026, 3, 15)
DAY_END = datetime(2026, 3, 16, tzinfo=UTC)


def _entry(version: str, trained_at: datetime, until: date | None, reason: str = "") -> RegistryEntry:
    return RegistryEntry(version, until is not None, trained_at, until, reason)


MARCH_MODEL = _entry("m-mar", datetime(2026, 3, 1, 4, tzinfo=UTC), date(2026, 1, 30))
# trained after the day ended, on events up to March 10 (before the day)
LATER_MODEL = _entry("m-later", datetime(2026, 3, 20, 4, tzinfo=UTC), date(2026, 3, 10))


def test_learned_until_is_the_newest_validation_day_plus_the_horizon() -> None:
    # Dec 1 + 60 days = Jan 30 (31 days of December, 29 more)
    assert learned_until([date(2025, 10, 1), date(2025, 12, 1), date(2025, 11, 1)], 60) == date(2026, 1, 30)
    assert learned_until([], 60) is None


def test_the_newest_model_written_by_the_end_of_the_day_predicts_it_and_a_rerun_keeps_it() -> None:
    first = model_for_day([MARCH_MODEL], DAY, DAY_END)
    assert first.model_version == "m-mar" and "written by the end of the day" in first.reason
    # a rerun after a newer training (allowed for the day, but written after it) keeps the model
    assert model_for_day([MARCH_MODEL, LATER_MODEL], DAY, DAY_END).model_version == "m-mar"
    # the day after LATER_MODEL was written, it serves
    later_day = model_for_day(
        [MARCH_MODEL, LATER_MODEL], date(2026, 3, 20), datetime(2026, 3, 21, tzinfo=UTC)
    )
    assert later_day.model_version == "m-later"


def test_a_model_that_learned_from_events_after_the_day_never_predicts_it() -> None:
    # written before the day ended, but its labels read events up to March 20
    peeking = _entry("m-peek", datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 20))
    assert model_for_day([MARCH_MODEL, peeking], DAY, DAY_END).model_version == "m-mar"


def test_a_backfilled_day_gets_the_first_model_trained_only_on_events_up_to_it() -> None:
    # Feb 10 ended before any entry was written; m-mar learned up to Jan 30 <= Feb 10, m-later
    # up to Mar 10 > Feb 10
    backfilled = model_for_day(
        [LATER_MODEL, MARCH_MODEL], date(2026, 2, 10), datetime(2026, 2, 11, tzinfo=UTC)
    )
    assert backfilled.model_version == "m-mar" and backfilled.reason.startswith("backfilled day")
    # Jan 10: both learned from later events: none, saying from when one could serve
    none = model_for_day([LATER_MODEL, MARCH_MODEL], date(2026, 1, 10), datetime(2026, 1, 11, tzinfo=UTC))
    assert none.model_version is None
    assert "the earliest, m-mar, learned from events up to 2026-01-30" in none.reason


def test_a_no_model_entry_or_no_entry_means_no_predictions_and_says_why() -> None:
    no_model = _entry(
        "n-1", datetime(2026, 3, 5, 6, tzinfo=UTC), None, "no model: 12 churners, fewer than 30"
    )
    choice = model_for_day([MARCH_MODEL, no_model], DAY, DAY_END)
    assert (
        choice.model_version is None
        and choice.reason == "no model: 12 churners, fewer than 30 (registry entry n-1)"
    )
    # written after the day: the model of the time still serves it
    assert (
        model_for_day(
            [MARCH_MODEL, no_model], date(2026, 3, 4), datetime(2026, 3, 5, tzinfo=UTC)
        ).model_version
        == "m-mar"
    )
    nothing = model_for_day([], DAY, DAY_END)
    assert nothing.model_version is None and "no registry entry" in nothing.reason


def test_drivers_go_to_five_percent_of_the_customers_rounded_up() -> None:
    assert [drivers_count(n, 5) for n in (0, 1, 20, 21, 40, 1000)] == [0, 1, 1, 2, 2, 50]
    assert drivers_count(7, 100) == 7


def test_activity_types_are_read_from_the_model_features() -> None:
    features = [
        "tenure_days",
        "type__PAGE_VIEW__count_7d",
        "type__PAGE_VIEW__count_30d",
        "type__EMAIL_SENT__count_90d",
    ]
    assert activity_types_of(features) == ["PAGE_VIEW", "EMAIL_SENT"]


@pytest.fixture(scope="module")
def model():
    [scope] = [s for s in train_churn_models(synthetic({"t": 300}, seed=4), CONFIG) if s.kind == PER_TENANT]
    return scope.model


def _day(customers: int, seed: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "as_of_date": DAY,
            "tenant_id": "t",
            "customer_id": [f"c{i:02d}" for i in range(customers)],
            SIGNAL: np.round(rng.gamma(2.0, 10.0, customers)),
            NOISE: rng.poisson(3.0, customers).astype(float),
        },
        index=range(100, 100 + customers),  # a slice of a bigger frame: positions, not labels
    )


def test_rows_carry_the_models_probabilities_ranked_with_drivers_for_the_top_only(model) -> None:
    frame = _day(40)
    rows = prediction_rows(model, frame, "m-1", top_percent=5)
    expected = dict(zip(frame["customer_id"], model.predict(frame), strict=True))
    assert dict(zip(rows["customer_id"], rows["churn_probability"], strict=True)) == expected
    assert rows["churn_rank"].tolist() == list(range(1, 41))
    assert rows["churn_probability"].is_monotonic_decreasing
    raw = dict(zip(frame["customer_id"], model.raw_scores(frame), strict=True))
    for (_, a), (_, b) in zip(rows.iloc[:-1].iterrows(), rows.iloc[1:].iterrows(), strict=True):
        if a["churn_probability"] == b["churn_probability"]:  # calibration ties: raw score, then id
            assert (raw[a["customer_id"]], b["customer_id"]) >= (raw[b["customer_id"]], a["customer_id"])
    # ceil(40 x 5%) = 2 customers with drivers, the two highest ranks
    with_drivers = rows[rows["driver_1"].notna()]
    assert with_drivers["churn_rank"].tolist() == [1, 2]
    assert rows.loc[rows["churn_rank"] > 2, DRIVER_COLUMNS].isna().all().all()
    by_customer = frame.reset_index(drop=True)
    for _, row in with_drivers.iterrows():
        position = by_customer.index[by_customer["customer_id"] == row["customer_id"]][0]
        own = model.drivers(by_customer, [position])[0]
        assert [row[c] for c in DRIVER_COLUMNS if row[c] is not None] == own
    assert set(rows["model_version"]) == {"m-1"}


def test_drivers_of_selected_rows_equal_those_of_the_whole_day(model) -> None:
    frame = _day(30).reset_index(drop=True)
    everyone = model.drivers(frame)
    assert model.drivers(frame, [7, 3]) == [everyone[7], everyone[3]]


def test_a_day_without_customers_gives_no_rows(model) -> None:
    assert prediction_rows(model, _day(0), "m-1", top_percent=5).empty
