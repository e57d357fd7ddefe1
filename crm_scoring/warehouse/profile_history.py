"""The profile history: a type-2 history of the CRM profile fields the scores read.

One version per (customer, updated_at), in force from ``dbt_valid_from`` (the CRM's updated_at)
until ``dbt_valid_to`` (the next version's updated_at; null while current; the capture's time
when the profile vanished from the CRM). ``captured_at`` is when a version was first seen, which
tells an observed state from one vouched for only by updated_at (int_profiles_as_of).

These are the semantics of the dbt snapshot that kept it before (strategy timestamp on
updated_at, unique key the profile id, hard deletes invalidated), column names included, so a
history dbt captured goes on unchanged: a profile is a new version when it has no version in
force (new, or back after vanishing) or its updated_at is later than the in-force version's
start; an earlier or equal updated_at changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text

# The profile fields kept per version, as the CRM names them (its id becomes customer_id).
VERSIONED_FIELDS = (
    "tenant_id",
    "status",
    "deleted_at",
    "lifetime_value",
    "email_opt_in",
    "sms_opt_in",
    "push_opt_in",
    "whatsapp_opt_in",
    "last_email_open_at",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Capture:
    """What one capture changed."""

    opened: int  # new versions: new profiles, changed ones and ones back after vanishing
    closed_changed: int  # versions ended by a later one
    closed_vanished: int  # versions ended because the profile left the CRM


def capture_profile_changes(engine: Engine, profiles_table: str, history_table: str) -> Capture:
    """Brings the history up to the CRM's profiles in one transaction (one time, now(), for every
    row it writes). Callers serialize captures: two at once would both open the same versions."""
    fields = ", ".join(f"profiles.{field}" for field in VERSIONED_FIELDS)
    with engine.begin() as connection:
        changed = connection.execute(
            text(
                f"""update {history_table} as versions
                    set dbt_valid_to = profiles.updated_at
                    from {profiles_table} as profiles
                    where profiles.id = versions.customer_id
                      and versions.dbt_valid_to is null
                      and versions.dbt_valid_from < profiles.updated_at"""
            )
        ).rowcount
        vanished = connection.execute(
            text(
                f"""update {history_table} as versions
                    set dbt_valid_to = now()
                    where versions.dbt_valid_to is null
                      and not exists (
                          select from {profiles_table} as profiles where profiles.id = versions.customer_id
                      )"""
            )
        ).rowcount
        # After the closings above, a profile without a version in force is exactly one the
        # snapshot would insert: new, changed, or back after vanishing.
        opened = connection.execute(
            text(
                f"""insert into {history_table} (
                        customer_id, {", ".join(VERSIONED_FIELDS)}, captured_at,
                        dbt_scd_id, dbt_updated_at, dbt_valid_from, dbt_valid_to
                    )
                    select
                        profiles.id, {fields}, now(),
                        md5(coalesce(cast(profiles.id as varchar), '') || '|'
                            || coalesce(cast(profiles.updated_at as varchar), '')),
                        profiles.updated_at, profiles.updated_at, null
                    from {profiles_table} as profiles
                    where not exists (
                        select from {history_table} as versions
                        where versions.customer_id = profiles.id and versions.dbt_valid_to is null
                    )"""
            )
        ).rowcount
        connection.execute(text(f"analyze {history_table}"))
    return Capture(opened=opened, closed_changed=changed, closed_vanished=vanished)
