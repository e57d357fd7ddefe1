"""`crm-scoring generate --data honest` through the real command into PostgreSQL: the rows
and the invariants a CRM's tables keep, checked in SQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

pytestmark = pytest.mark.integration

SOURCE = "crm_honest_test"  # its own schemas: the other tests' source tables stay as they are
ANALYTICS = "analytics_honest_test"


@pytest.fixture(scope="module")
def honest_demo(engine: Engine, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CRM_SCORING_", "DAGSTER_HOME"))
    }
    environment |= {
        "CRM_SCORING_HOME": str(tmp_path_factory.mktemp("home")),
        "CRM_SCORING_DATABASE_URL": database_url,
        "CRM_SCORING_SOURCE_SCHEMA": SOURCE,
        "CRM_SCORING_ANALYTICS_SCHEMA": ANALYTICS,
    }
    command = ["generate", "--data", "honest", "--size", "demo", "--seed", "3", "--replace"]
    result = subprocess.run(
        [sys.executable, "-m", "crm_scoring.app.cli", *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "customer_profiles=1200" in result.stdout
    return engine


def _scalar(engine: Engine, query: str) -> object:
    with engine.connect() as connection:
        return connection.execute(text(query.format(s=SOURCE))).scalar_one()


def test_every_table_is_loaded_and_every_event_belongs_to_a_profile_of_its_tenant(honest_demo) -> None:
    assert _scalar(honest_demo, "select count(*) from {s}.customer_profiles") == 1200
    assert _scalar(honest_demo, "select count(distinct tenant_id) from {s}.customer_profiles") == 4
    for table in ("activities", "campaign_interactions", "customer_notes"):
        assert _scalar(honest_demo, f"select count(*) from {{s}}.{table}") > 0
        orphans = f"""select count(*) from {{s}}.{table} as events
            left join {{s}}.customer_profiles as profiles
              on profiles.id = events.customer_id and profiles.tenant_id = events.tenant_id
            where profiles.id is null"""
        assert _scalar(honest_demo, orphans) == 0


def test_updated_at_is_the_profiles_latest_change_and_no_later_than_the_data(honest_demo) -> None:
    for wrong in ("updated_at > now()", "updated_at < created_at"):
        assert _scalar(honest_demo, f"select count(*) from {{s}}.customer_profiles where {wrong}") == 0
    # the profile's last email open is the customer's last OPENED interaction
    mismatched = """select count(*) from {s}.customer_profiles as profiles
        left join (select customer_id, max(occurred_at) as opened_at from {s}.campaign_interactions
                   where type = 'OPENED' group by customer_id) as opens on opens.customer_id = profiles.id
        where profiles.last_email_open_at is distinct from date_trunc('milliseconds', opens.opened_at)
           or profiles.updated_at < profiles.last_email_open_at"""
    assert _scalar(honest_demo, mismatched) == 0


def test_an_inactive_profile_was_set_so_after_its_last_activity(honest_demo) -> None:
    inactive = _scalar(honest_demo, "select count(*) from {s}.customer_profiles where status = 'INACTIVE'")
    assert 0 < inactive < 1200
    assert _scalar(honest_demo, "select count(*) from {s}.customer_profiles where status <> 'ACTIVE' "
                                "and status <> 'INACTIVE'") == 0
    later = """select count(*) from {s}.customer_profiles as profiles
        join {s}.activities as activities on activities.customer_id = profiles.id
        where profiles.status = 'INACTIVE' and activities.occurred_at >= profiles.updated_at"""
    assert _scalar(honest_demo, later) == 0


def test_tenants_keep_their_own_vocabularies(honest_demo) -> None:
    def types(tenant: str) -> set[str]:
        with honest_demo.connect() as connection:
            rows = connection.execute(
                text(f"select distinct type from {SOURCE}.activities where tenant_id = :tenant"),
                {"tenant": tenant},
            )
            return {row.type for row in rows}

    shop, app, media = types("tenant-001"), types("tenant-002"), types("tenant-003")
    assert {"PAGE_VIEW", "PURCHASE", "PAYMENT_RECEIVED"} <= shop and "APP_OPEN" not in shop
    assert {"APP_OPEN", "FEATURE_USED"} <= app and "PAGE_VIEW" not in app
    assert "DOWNLOAD" in media and not {"PAYMENT_RECEIVED", "PAYMENT_FAILED"} & media
    # the app tenant's CRM keeps no notes
    assert _scalar(honest_demo, "select count(*) from {s}.customer_notes where tenant_id = 'tenant-002'") == 0
    reasons = """select count(*) from {s}.activities where type = 'TIER_CHANGED'
        and coalesce(metadata ->> 'reason', '') not in ('downgrade', 'upgrade')"""
    assert _scalar(honest_demo, reasons) == 0
