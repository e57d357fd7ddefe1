"""Whole-customer scoring from features, and the AnalyticsService buckets."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from crm_scoring.rules.distributions import (
    churn_risk_overview_rows,
    engagement_distribution_rows,
)
from crm_scoring.rules.scorecard import score_features

AS_OF = datetime(2026, 3, 16, tzinfo=UTC)


def features(**overrides) -> pd.DataFrame:
    base = {
        "last_activity_at": None,
        "activity_count_30d": 0,
        "activity_count_90d": 0,
        "lifetime_value": None,
        "email_opt_in": False,
        "sms_opt_in": False,
        "push_opt_in": False,
        "whatsapp_opt_in": False,
        "campaign_sent_30d": 0,
        "campaign_opened_30d": 0,
        "campaign_clicked_30d": 0,
        "payment_failed_90d": 0,
        "payment_received_90d": 0,
        "latest_tier_change_reason": None,
        "complaints_90d": 0,
        "last_email_open_at": None,
    }
    return pd.DataFrame([base | overrides])


def test_customer_with_no_data_at_all() -> None:
    row = score_features(features(), AS_OF).iloc[0]
    # engagement: 0 + 0 + 0 + 0 + depth 50*.1 = 5
    assert row["engagement_score"] == 5
    # churn: never active 100*.35 + engagement drop neutral 50*.2 = 45
    assert row["churn_risk_score"] == 45


def test_day_counts_truncate_timestamps_to_milliseconds_like_a_javascript_date() -> None:
    # 8 days minus 0.5 ms before as_of: exact difference is 7.99999999 days, but a JS Date
    # holds whole milliseconds (the timestamp truncates to exactly 8 days before) -> 8 days -> 80.
    t = pd.Timestamp(AS_OF) - pd.Timedelta(days=8) + pd.Timedelta(microseconds=500)
    row = score_features(features(last_activity_at=t, activity_count_30d=1, activity_count_90d=1), AS_OF)
    assert row.iloc[0]["recency_score"] == 80


def test_missing_feature_column_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="complaints_90d"):
        score_features(features().drop(columns=["complaints_90d"]), AS_OF)


def test_distributions_count_active_customers_only_with_spec_labels() -> None:
    scores = pd.DataFrame(
        {
            "tenant_id": ["a", "a", "a", "a", "a", "b"],
            "status": ["ACTIVE", "ACTIVE", "ACTIVE", "ACTIVE", "INACTIVE", "ACTIVE"],
            "engagement_score": [70, 69, 1, 0, 90, 40],
            "churn_risk_score": [80, 79, 30, 29, 99, 60],
        }
    )
    engagement = engagement_distribution_rows(scores, ["a", "b", "empty"])
    counts = {(r.tenant_id, r.label): r.customer_count for r in engagement.itertuples()}
    assert counts[("a", "High (70-100)")] == 1
    assert counts[("a", "Medium (40-69)")] == 1
    assert counts[("a", "Low (1-39)")] == 1
    assert counts[("a", "Inactive (0)")] == 1
    assert counts[("b", "Medium (40-69)")] == 1
    assert all(counts[("empty", label)] == 0 for label in {lbl for _, lbl in counts})
    overview = churn_risk_overview_rows(scores, ["a", "b", "empty"]).set_index("tenant_id")
    assert overview.loc["a"].to_dict() == {"critical": 1, "high": 1, "medium": 1, "low": 1, "total": 4}
    assert overview.loc["b"].to_dict() == {"critical": 0, "high": 1, "medium": 0, "low": 0, "total": 1}
    assert overview.loc["empty", "total"] == 0


def test_distributions_count_grouped_scores_as_the_customers_they_stand_for() -> None:
    """What the warehouse hands the step: distinct (tenant, status, score) with their count."""
    counted = pd.DataFrame(
        {
            "tenant_id": ["a", "a", "a", "a", "b"],
            "status": ["ACTIVE", "ACTIVE", "INACTIVE", "ACTIVE", "ACTIVE"],
            "engagement_score": [70, 100, 90, 0, 40],
            "churn_risk_score": [80, 95, 99, 29, 60],
            "customers": [3, 2, 7, 1, 4],
        }
    )
    engagement = engagement_distribution_rows(counted, ["a", "b"])
    # a: 3 + 2 High, 1 Inactive (the 7 INACTIVE are not counted); b: 4 Medium
    counts = {(r.tenant_id, r.label): r.customer_count for r in engagement.itertuples()}
    assert counts == {
        ("a", "High (70-100)"): 5, ("a", "Medium (40-69)"): 0, ("a", "Low (1-39)"): 0,
        ("a", "Inactive (0)"): 1, ("b", "High (70-100)"): 0, ("b", "Medium (40-69)"): 4,
        ("b", "Low (1-39)"): 0, ("b", "Inactive (0)"): 0,
    }  # fmt: skip
    overview = churn_risk_overview_rows(counted, ["a", "b"]).set_index("tenant_id")
    assert overview.loc["a"].to_dict() == {"critical": 5, "high": 0, "medium": 0, "low": 1, "total": 6}
    assert overview.loc["b"].to_dict() == {"critical": 0, "high": 4, "medium": 0, "low": 0, "total": 4}


def test_awkward_tenant_ids_get_derived_partition_keys_and_blank_ones_are_refused() -> None:
    from crm_scoring.scope import split_new_tenants, tenant_partition_key

    awkward = ["a|b", "a,b", "o'neil", "x'; drop table crm.activities; --", "~looks-derived"]
    found = ["acme", "acme", "", "  ", "new-1", *awkward]
    new, blank = split_new_tenants(found, known_keys=["acme"])
    assert blank == ["", "  "]
    assert new["new-1"] == "new-1"  # plain ids are their own key
    derived = {key: tenant for key, tenant in new.items() if key != tenant}
    assert sorted(derived.values()) == sorted(awkward)
    for key in derived:
        assert key.startswith("~") and len(key) == 25
        assert not set(key) & set("|,'; ")
    assert tenant_partition_key("a|b") == tenant_partition_key("a|b") != tenant_partition_key("a,b")


def test_top_reasons_name_the_biggest_churn_contributors_in_words() -> None:
    # dataset customer c2: decline 80 (28 pts), payment 100 (25), drop 100 (20),
    # complaints 100 (10), tier 80 (8): the top three, biggest first.
    row = features(
        last_activity_at=pd.Timestamp(AS_OF) - pd.Timedelta(days=62),
        activity_count_90d=3,
        payment_failed_90d=3,
        latest_tier_change_reason="downgrade",
        complaints_90d=3,
        last_email_open_at=pd.Timestamp(AS_OF) - pd.Timedelta(days=61),
    )
    reasons = score_features(row, AS_OF).iloc[0]["top_reasons"]
    assert reasons == "no activity for 62 days; 3 failed payments in 90 days; no email opened for 61 days"


def test_top_reasons_phrase_declines_and_skip_zero_contributions() -> None:
    # recent 1, older 8: decline (4-1)/4 = 75% -> 100 risk (35 pts); 1 complaint -> 60 (6 pts);
    # opened 3 days ago -> 0 risk: not a reason.
    row = features(
        last_activity_at=pd.Timestamp(AS_OF) - pd.Timedelta(days=2),
        activity_count_30d=1,
        activity_count_90d=9,
        complaints_90d=1,
        last_email_open_at=pd.Timestamp(AS_OF) - pd.Timedelta(days=3),
    )
    reasons = score_features(row, AS_OF).iloc[0]["top_reasons"]
    assert reasons == "activity down 75% on the previous 60 days; 1 complaint in 90 days"
    healthy = features(
        last_activity_at=pd.Timestamp(AS_OF) - pd.Timedelta(days=1),
        activity_count_30d=5,
        activity_count_90d=5,
        last_email_open_at=pd.Timestamp(AS_OF) - pd.Timedelta(days=1),
    )
    assert score_features(healthy, AS_OF).iloc[0]["top_reasons"] == ""


def test_top_reasons_of_several_customers_each_name_their_own_components_in_their_own_order() -> None:
    """Weights 35/25/20/10/10 (decline, payment, drop, tier, complaints)."""
    yesterday = pd.Timestamp(AS_OF) - pd.Timedelta(days=1)
    rows = pd.concat(
        [
            # never active 100 (35 pts), never opened 50 (10), downgraded 80 (8)
            features(latest_tier_change_reason="downgrade"),
            # healthy: no points at all
            features(
                last_activity_at=yesterday,
                activity_count_30d=5,
                activity_count_90d=5,
                last_email_open_at=yesterday,
            ),
            # 3 complaints 100 (10 pts), downgraded 80 (8): a later component first
            features(
                last_activity_at=yesterday,
                activity_count_30d=5,
                activity_count_90d=5,
                last_email_open_at=yesterday,
                complaints_90d=3,
                latest_tier_change_reason="downgrade",
            ),
        ],
        ignore_index=True,
    )
    assert score_features(rows, AS_OF)["top_reasons"].tolist() == [
        "never active; never opened an email; tier downgraded in the last 180 days",
        "",
        "3 complaints in 90 days; tier downgraded in the last 180 days",
    ]


def test_trends_flag_rising_risk_at_the_threshold() -> None:
    from crm_scoring.rules.trends import customer_trends, tenant_averages, tenant_totals

    def frame(rows):
        return pd.DataFrame(
            rows, columns=["tenant_id", "customer_id", "engagement_score", "churn_risk_score"]
        )

    today = frame([("a", "x", 50, 70), ("a", "y", 60, 69), ("a", "z", 10, 90), ("b", "w", 80, 5)])
    week_ago = frame([("a", "x", 55, 50), ("a", "y", 60, 50), ("b", "w", 80, 10)])
    trends = customer_trends(today, week_ago, frame([]), rising_points=20).set_index("customer_id")
    assert trends.loc["x", "churn_risk_change_7d"] == 20 and trends.loc["x", "rising_risk"]
    assert trends.loc["y", "churn_risk_change_7d"] == 19 and not trends.loc["y", "rising_risk"]
    assert pd.isna(trends.loc["z", "churn_risk_change_7d"]) and not trends.loc["z", "rising_risk"]
    assert trends.loc["x", "engagement_change_7d"] == -5
    assert trends["churn_risk_change_30d"].isna().all()
    # Totals of two chunks (x | y, z, w) add up to the day's: the same averages.
    chunks = [trends.reset_index().iloc[:1], trends.reset_index().iloc[1:]]
    averages = tenant_averages(pd.concat(map(tenant_totals, chunks)), ["a", "b", "c"]).set_index("tenant_id")
    assert averages.loc["a", "customers"] == 3 and averages.loc["a", "rising_risk_customers"] == 1
    assert averages.loc["a", "avg_churn_risk_score"] == round((70 + 69 + 90) / 3, 2) == 76.33
    assert averages.loc["a", "avg_engagement_score"] == round((50 + 60 + 10) / 3, 2) == 40.0
    assert averages.loc["b", "customers"] == 1 and averages.loc["b", "avg_churn_risk_score"] == 5.0
    assert averages.loc["c", "customers"] == 0 and pd.isna(averages.loc["c", "avg_churn_risk_score"])
