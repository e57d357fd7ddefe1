"""The command line as a user runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crm_scoring.warehouse.api_tokens import tenant_of_token
from tests.integration import dataset

pytestmark = pytest.mark.integration


def crm_scoring(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CRM_SCORING_", "DAGSTER_HOME"))
    }
    environment |= {"CRM_SCORING_HOME": str(home), **env}
    return subprocess.run(
        [sys.executable, "-m", "crm_scoring.app.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_demo_scores_generated_data_on_the_embedded_database(tmp_path: Path) -> None:
    # The fewest days with a backtest of yesterday, which judges the scores of the churn horizon
    # before: a 7-day horizon (the setting, documented, default 60) backfills a week, not two
    # months: one backfill run instead of two, the demo's path and output otherwise the same.
    horizon = {"CRM_SCORING_CHURN_HORIZON_DAYS": "7"}
    result = crm_scoring("demo", "--days", "8", home=tmp_path / "home", **horizon)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "succeeded" in out
    assert "Churn-risk overview" in out and "Engagement distribution" in out
    assert "Churn backtest" in out and "No churn backtest" not in out
    for tenant in ("tenant-001", "tenant-002", "tenant-003", "tenant-004"):
        assert tenant in out
    assert "crm-scoring ui" in out
    # The demo's Dagster instance persists in the home directory, in PostgreSQL.
    assert (tmp_path / "home" / "dagster_home" / "dagster.yaml").exists()


def test_bad_date_is_a_clear_error(tmp_path: Path) -> None:
    result = crm_scoring("run", "--date", "2026-13-01", home=tmp_path)
    assert result.returncode == 2
    assert "is not a date in YYYY-MM-DD form" in result.stderr


def test_incomplete_day_is_refused(tmp_path: Path) -> None:
    result = crm_scoring("run", "--date", date.today().isoformat(), home=tmp_path, CRM_SCORING_TIMEZONE="UTC")
    assert result.returncode == 2
    assert "not a complete day yet" in result.stderr


def test_unreachable_database_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    result = crm_scoring(
        "init-db",
        home=tmp_path,
        CRM_SCORING_DATABASE_URL="postgresql://scorer:s3cret@127.0.0.1:1/crm",
    )
    assert result.returncode == 3
    assert "cannot reach PostgreSQL at scorer@127.0.0.1:1/crm" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_grant_reader_without_createrole_is_a_one_line_error(tmp_path: Path, server_url: str) -> None:
    name = "crm_test_no_createrole"
    admin_dsn = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    admin = psycopg2.connect(admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cursor:  # an account that owns its database but may not create roles
        cursor.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        cursor.execute(
            "do $$ begin if not exists (select from pg_roles where rolname = 'crm_test_no_createrole') "
            "then create role crm_test_no_createrole login nocreaterole password 'pw'; end if; end $$"
        )
        owned = sql.SQL("create database {name} owner {name}").format(name=sql.Identifier(name))
        cursor.execute(owned)
    admin.close()
    url = make_url(server_url).set(drivername="postgresql", username=name, password="pw", database=name)
    result = crm_scoring(
        "grant-reader",
        "--tenant",
        "acme",
        home=tmp_path,
        CRM_SCORING_DATABASE_URL=url.render_as_string(hide_password=False),
    )
    assert result.returncode == 2, result.stderr[-3000:]
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "CREATEROLE" in line


def test_an_unknown_tenant_is_refused_before_anything_starts(tmp_path: Path, cli_database) -> None:
    result = crm_scoring(
        "run", "--date", str(dataset.DAY), "--tenant", "initech", home=tmp_path, **cli_database
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Unknown tenant(s): initech. Known: acme, globex" in result.stderr
    assert "Scoring" not in result.stdout


def test_an_unscored_day_is_reported_and_its_missing_tenants_can_be_scored(
    tmp_path: Path, cli_database
) -> None:
    day = str(dataset.DAY)
    status = crm_scoring("status", "--date", day, home=tmp_path, **cli_database)
    assert status.returncode == 1, status.stderr[-3000:]
    assert f"{day} is not scored: no tenant is materialized" in status.stdout

    rerun = crm_scoring("rerun-failed", "--date", day, home=tmp_path, **cli_database)
    assert rerun.returncode == 1, rerun.stderr[-3000:]
    assert f"2 tenant(s) never scored on {day}: acme, globex" in rerun.stdout
    assert "--include-missing" in rerun.stdout
    assert "Scoring" not in rerun.stdout

    included = crm_scoring("rerun-failed", "--date", day, "--include-missing", home=tmp_path, **cli_database)
    assert included.returncode == 0, included.stderr[-3000:]
    assert "Scoring 2 tenant(s): 0 failed, 2 never scored" in included.stdout
    scored = crm_scoring("status", "--date", day, home=tmp_path, **cli_database)
    assert scored.returncode == 0, scored.stdout
    assert f"{day}: 2 materialized, 0 failed, 0 missing or in progress, of 2 tenants" in scored.stdout


def test_api_tokens_are_listed_by_id_and_revoked(tmp_path: Path, cli_database, engine, settings) -> None:
    with engine.begin() as connection:  # other modules' tokens would be revoked with acme's
        connection.execute(text(f"truncate {settings.analytics_schema}.api_tokens"))
    created = [
        crm_scoring("api-token", "create", "--tenant", tenant, home=tmp_path, **cli_database)
        for tenant in ("acme", "acme", "globex")
    ]
    assert all(result.returncode == 0 for result in created), created[0].stderr[-2000:]
    tokens = [result.stdout.strip() for result in created]
    listing = crm_scoring("api-token", "list", home=tmp_path, **cli_database)
    assert listing.returncode == 0 and not any(token in listing.stdout for token in tokens)
    ids = {hashlib.sha256(token.encode()).hexdigest()[:12]: token for token in tokens}
    assert set(ids) <= set(listing.stdout.split())

    first_acme = next(iter(ids))
    revoked = crm_scoring("api-token", "revoke", "--id", first_acme, home=tmp_path, **cli_database)
    assert revoked.returncode == 0 and "revoked 1 token(s)" in revoked.stdout
    again = crm_scoring("api-token", "revoke", "--id", first_acme, home=tmp_path, **cli_database)
    assert again.returncode == 2 and "nothing revoked" in again.stderr
    by_tenant = crm_scoring("api-token", "revoke", "--tenant", "acme", home=tmp_path, **cli_database)
    assert "revoked 1 token(s)" in by_tenant.stdout  # the second acme token; the first was already
    with engine.connect() as connection:
        valid = {token: tenant_of_token(connection, settings.analytics_schema, token) for token in tokens}
    assert valid == {tokens[0]: None, tokens[1]: None, tokens[2]: "globex"}


def test_alerts_deliver_makes_one_delivery_pass(tmp_path: Path, cli_database, engine, settings) -> None:
    refused = crm_scoring("alerts", "deliver", home=tmp_path, **cli_database)
    assert refused.returncode == 2 and "CRM_SCORING_ALERT_WEBHOOK_URL is not set" in refused.stderr

    received: list[bytes] = []

    class Accept(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with engine.begin() as connection:
        connection.execute(text(f"truncate {settings.analytics_schema}.alert_outbox"))
        connection.execute(
            text(
                f"insert into {settings.analytics_schema}.alert_outbox (idempotency_key, tenant_id, payload) "
                "values ('k1', 'acme', '{\"customer_id\": \"c2\"}')"
            )
        )
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        result = crm_scoring(
            "alerts", "deliver", home=tmp_path, CRM_SCORING_ALERT_WEBHOOK_URL=url, **cli_database
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "delivered 1, failed 0" in result.stdout
    assert [json.loads(body) for body in received] == [{"customer_id": "c2"}]


def test_train_model_says_why_a_tenant_has_no_model(tmp_path: Path, cli_database) -> None:
    # Nothing scored yet: no labelled customer-day for any tenant, and the run still succeeds.
    result = crm_scoring("train-model", home=tmp_path, **cli_database)
    assert result.returncode == 0, result.stderr[-3000:]
    for tenant in ("acme", "globex"):
        assert f"| {tenant} | none | no model: no labelled customer-day" in result.stdout
    assert "No model trained." in result.stdout
    assert "population at_risk:" in result.stdout  # CRM_SCORING_CHURN_MODEL_POPULATION's default
    bad = crm_scoring("train-model", "--observed-until", "2026-02-30", home=tmp_path, **cli_database)
    assert bad.returncode == 2 and "--observed-until '2026-02-30' is not a date" in bad.stderr


def test_generate_loads_the_same_rows_for_the_same_seed(
    tmp_path: Path, cli_database, engine, settings
) -> None:
    # Generated history ends at the end of yesterday, not at the instant of the command: two
    # runs a few seconds apart (the same day) load identical rows, event times included.
    def loaded() -> list[tuple[str, int, str]]:
        result = crm_scoring(
            "generate", "--size", "demo", "--data", "honest", "--replace", home=tmp_path, **cli_database
        )
        assert result.returncode == 0, result.stderr[-3000:]
        with engine.connect() as connection:
            return [
                (
                    table,
                    *connection.execute(
                        text(
                            f"select count(*), md5(string_agg(md5(t::text), '' order by t.id)) "
                            f"from {settings.source_schema}.{table} as t"
                        )
                    ).one(),
                )
                for table in ("customer_profiles", "activities", "campaign_interactions", "customer_notes")
            ]

    first = loaded()
    assert first == loaded()
    assert all(count > 0 for _, count, _ in first)


def test_active_days_count_the_hour_a_dst_change_adds_to_the_90_day_window(
    tmp_path: Path, cli_database, load_sources, engine, settings
) -> None:
    # Europe/Berlin, day 2026-11-01: as_of = 2026-11-02 00:00 CET = 2026-11-01 23:00 UTC, and
    # the window starts 90 calendar days before, 2026-08-04 00:00 CEST = 2026-08-03 22:00 UTC:
    # 90 days and an hour (the clocks went back on 2026-10-25). An activity in that extra first
    # hour is day ceil((90 days + 30 min) / 1 day) - 1 = 90 of the window: one more active day,
    # beside one on day 0 (an hour before as_of) and two on day 1 (one active day).
    load_sources(
        {
            "customer_profiles": [dataset.profile("d1", "acme")],
            "activities": [
                dataset.activity("d1", "LOGIN", datetime(2026, 8, 3, 22, 30, tzinfo=UTC)),
                dataset.activity("d1", "LOGIN", datetime(2026, 11, 1, 22, 0, tzinfo=UTC)),
                dataset.activity("d1", "LOGIN", datetime(2026, 10, 31, 21, 0, tzinfo=UTC)),
                dataset.activity("d1", "LOGIN", datetime(2026, 10, 31, 12, 0, tzinfo=UTC)),
            ],
        }
    )
    berlin = cli_database | {"CRM_SCORING_TIMEZONE": "Europe/Berlin"}
    result = crm_scoring("run", "--date", "2026-11-01", home=tmp_path, **berlin)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "select activity_count_90d, active_days_30d, active_days_90d "
                f"from {settings.analytics_schema}.customer_behaviour_features "
                "where customer_id = 'd1' and as_of_date = '2026-11-01'"
            )
        ).one()
    assert tuple(row) == (4, 2, 3)


def test_bench_checks_the_baseline_against_the_graph_and_writes_its_figures(tmp_path: Path) -> None:
    """The benchmark at a tiny size on its own embedded database: the graph, the specification's
    per-profile baseline and the two limits in one run, and the baseline's scores must equal
    the graph's for every sampled profile (exit 1 otherwise). The first run backfills the two
    days before the timed one, a history kept."""
    figures = tmp_path / "bench.json"
    result = crm_scoring(
        "bench",
        "--size",
        "demo",
        "--tenants",
        "2",
        "--customers",
        "300",
        "--history-days",
        "100",
        "--sample",
        "40",
        "--scored-days",
        "2",
        "--json",
        str(figures),
        home=tmp_path / "home",
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert "baseline scores equal the graph's for all 40 sampled profiles: True" in result.stdout
    bench = json.loads(figures.read_text())
    assert 0 < bench["customers_scored"] <= 300 and bench["baseline_sample"] == 40
    assert bench["graph_seconds"] > 0 and bench["graph_peak_rss_mib"] > 0
    assert bench["limit_with_writes_seconds"] > 0
    assert set(bench["graph_steps_seconds"]) >= {"crm_dbt_models", "customer_scores", "churn_alerts"}
    # The graph is a day whose two days before were scored first, by a backfill timed apart.
    assert bench["scored_days"] == 2 and bench["scored_days_before"] == 2
    assert bench["graph_is_rerun"] is False  # a new day, as a daily run finds it
    assert "first run (2 days backfilled)" in result.stdout
    assert bench["first_run_seconds"] > 0
    assert set(bench["first_run_steps_seconds"]) >= {"crm_dbt_models", "customer_scores", "churn_alerts"}
