"""The honest simulator's pure parts: no database; expected values from its parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from crm_scoring.devtools.synthetic import SIZES, Size
from crm_scoring.devtools.synthetic_honest import (
    ACTIVITY_TYPES,
    DAY_S,
    WEEK_S,
    Behaviour,
    HonestCrm,
    profiles,
    simulate,
    tenant_kind,
    tenure_factor,
)

END_S = datetime(2026, 11, 30, tzinfo=UTC).timestamp()
DEMO = SIZES["demo"]
# Enough new customers that the churn rate of their first 30 days is known to a few percent.
MANY = Size(4, 20_000, 30, 10, 0.35, 365)


@pytest.fixture(scope="module")
def demo() -> HonestCrm:
    return simulate(DEMO, END_S, seed=7)


def test_same_seed_same_crm_and_another_seed_another() -> None:
    first, again, other = simulate(DEMO, END_S, 7), simulate(DEMO, END_S, 7), simulate(DEMO, END_S, 8)
    for table in ("activities", "interactions", "notes"):
        for column in ("owner", "at", "code", "flag"):
            expected = getattr(getattr(first, table), column)
            assert np.array_equal(getattr(getattr(again, table), column), expected)
    assert np.array_equal(first.churn_s, again.churn_s)
    assert not np.array_equal(first.churn_s, other.churn_s)


def test_nothing_a_customer_does_comes_after_it_left(demo: HonestCrm) -> None:
    churned = np.isfinite(demo.churn_s)
    assert churned.sum() > 100  # the check below has churners to check
    for events in (demo.activities, demo.notes):
        assert (events.at < demo.churn_s[events.owner]).all()
    responses = demo.interactions.code > 0  # opens and clicks
    assert (demo.interactions.at[responses] < demo.churn_s[demo.interactions.owner[responses]]).all()
    # Sends go on to a silent customer until the CRM sets it INACTIVE, never after.
    noticed = np.nan_to_num(demo.noticed_s, nan=np.inf)
    assert (demo.interactions.at < noticed[demo.interactions.owner]).all()


def test_every_event_lies_in_the_history_and_after_the_customer_joined(demo: HonestCrm) -> None:
    for events in (demo.activities, demo.interactions, demo.notes):
        assert (events.at >= demo.start_s).all() and (events.at < demo.end_s).all()
        assert (events.at >= demo.joined_s[events.owner]).all()
        assert (np.diff(events.at) >= 0).all()  # appended in time order, as a CRM does


def test_churners_both_fade_out_and_stop_at_once(demo: HonestCrm) -> None:
    churned = np.isfinite(demo.churn_s)
    abrupt = churned & ~demo.faded
    assert demo.faded.sum() > 20 and abrupt.sum() > 20
    fade_weeks = (demo.churn_s[demo.faded] - demo.decided_s[demo.faded]) / WEEK_S
    assert fade_weeks.min() >= 2 and fade_weeks.max() <= 8
    # an abrupt churner leaves at the instant its hazard fired
    assert (demo.churn_s[abrupt] == demo.decided_s[abrupt]).all()


def test_the_crm_notices_some_churners_one_to_eight_weeks_after_they_left(demo: HonestCrm) -> None:
    noticed = ~np.isnan(demo.noticed_s)
    assert np.isfinite(demo.churn_s[noticed]).all()
    delay_weeks = (demo.noticed_s - demo.churn_s)[noticed] / WEEK_S
    assert delay_weeks.min() >= 1 and delay_weeks.max() <= 8
    # others stay ACTIVE but silent
    assert (np.isfinite(demo.churn_s) & ~noticed & (demo.churn_s < demo.end_s - 8 * WEEK_S)).sum() > 0


def test_tenure_factor_by_hand() -> None:
    b = Behaviour(new_factor=4.0, new_days=30, settled_days=90)
    # 4 up to 30 days, then linear: 60 days is halfway to 1 (2.5), from 90 days on 1
    assert tenure_factor(np.array([0.0, 29.0, 60.0, 90.0, 400.0]), b).tolist() == [4.0, 4.0, 2.5, 1.0, 1.0]


def _weekly_churn_rates(crm: HonestCrm) -> tuple[float, float]:
    """Churn decisions per customer-week: tenure under 30 days, and over 90 days."""
    first_week = crm.joined_s.min()
    new = old = (0, 0)
    for week_start in np.arange(first_week, crm.end_s - WEEK_S, WEEK_S):
        present = (crm.joined_s <= week_start) & (crm.decided_s >= week_start)
        tenure = (week_start - crm.joined_s) / DAY_S
        left = present & (crm.decided_s < week_start + WEEK_S)
        new = (new[0] + (left & (tenure < 30)).sum(), new[1] + (present & (tenure < 30)).sum())
        old = (old[0] + (left & (tenure > 90)).sum(), old[1] + (present & (tenure > 90)).sum())
    return new[0] / new[1], old[0] / old[1]


def test_new_customers_churn_new_factor_times_as_often_when_nothing_else_differs() -> None:
    # Without satisfaction and tenant effects every customer's hazard is the tenure factor times
    # the same constant, so the rate ratio is the factor itself, up to sampling (~3% here).
    flat = Behaviour(hazard_satisfaction_effect=0.0, tenant_hazard_spread=0.0)
    new, old = _weekly_churn_rates(simulate(MANY, END_S, 7, flat))
    assert 0.9 * flat.new_factor <= new / old <= 1.1 * flat.new_factor


def test_new_customers_churn_at_least_new_factor_times_as_often_by_default() -> None:
    # With satisfaction on, the customers past 90 days are the survivors of their first months,
    # selected for satisfaction, so the ratio can only grow beyond the factor; bounded by the
    # case where settled survivors had no caused hazard left at all:
    # factor * (background + caused * E[exp(-effect * satisfaction)]) / background.
    b = Behaviour()
    spread = b.mean_spread**2 + b.volatility_median**2 / (b.reversion * (2 - b.reversion))
    caused = b.caused_hazard * np.exp(
        (b.hazard_satisfaction_effect**2 * spread + b.tenant_hazard_spread**2) / 2
    )
    new, old = _weekly_churn_rates(simulate(MANY, END_S, 7, b))
    upper = b.new_factor * (b.background_hazard + caused) / b.background_hazard
    assert 0.9 * b.new_factor <= new / old <= upper


def test_each_tenant_has_its_own_activity_vocabulary(demo: HonestCrm) -> None:
    tenant_of_event = demo.tenant_index[demo.activities.owner]
    for number, kind in enumerate(demo.tenant_kinds):
        used = set(ACTIVITY_TYPES[np.unique(demo.activities.code[tenant_of_event == number])])
        own = set(kind.activity_weights) | (
            {"PAYMENT_RECEIVED", "PAYMENT_FAILED"} if kind.bills_monthly else set()
        )
        assert used <= own and len(used) >= len(own) - 1  # a rare type may not occur
        has_notes = (demo.tenant_index[demo.notes.owner] == number).any()
        assert has_notes == kind.keeps_notes
    assert {tenant_kind(n).name for n in range(4)} == {"shop", "app", "media", "services"}
    assert not tenant_kind(2).bills_monthly and not tenant_kind(1).keeps_notes


def test_profiles_updated_at_is_the_latest_change_and_before_the_end(demo: HonestCrm) -> None:
    rows = profiles(demo, np.random.default_rng(1), Behaviour())
    updated = pd.to_datetime(rows["updated_at"], utc=True)
    end = pd.Timestamp(demo.end_s, unit="s", tz="UTC")
    assert (updated < end).all()
    assert (updated >= pd.to_datetime(rows["created_at"], utc=True)).all()
    opened = pd.to_datetime(rows["last_email_open_at"], utc=True)
    assert (updated[opened.notna()] >= opened[opened.notna()]).all()
    inactive = rows["status"] == "INACTIVE"
    assert inactive.sum() > 0
    # INACTIVE exactly when the CRM noticed, and its updated_at is that change
    assert (inactive.to_numpy() == ~np.isnan(demo.noticed_s)).all()
    noticed = pd.to_datetime(demo.noticed_s[inactive.to_numpy()], unit="s", utc=True)
    assert (abs(updated[inactive].to_numpy() - noticed.to_numpy()) < pd.Timedelta(milliseconds=1)).all()


def test_the_last_email_open_on_the_profile_is_the_last_opened_interaction(demo: HonestCrm) -> None:
    rows = profiles(demo, np.random.default_rng(1), Behaviour())
    opens = demo.interactions.code == 1
    last = pd.Series(demo.interactions.at[opens]).groupby(demo.interactions.owner[opens]).max()
    on_profile = pd.to_datetime(rows["last_email_open_at"], utc=True)
    expected = pd.Series(pd.NaT, index=rows.index, dtype=on_profile.dtype)
    expected.iloc[last.index] = pd.to_datetime(last.to_numpy(), unit="s", utc=True).floor("ms")
    assert on_profile.equals(expected)
