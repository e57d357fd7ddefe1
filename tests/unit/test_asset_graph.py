"""The lineage of the Python assets, pinned: each asset's upstream keys and partitions.

Assets name what they read by key, not by importing each other's asset objects; a key mistyped
would not fail at import (Dagster would show an unknown upstream), so the edges are checked here.
"""

import dagster as dg

# {asset: its upstream keys}, each key as "/"-joined path; dbt models' keys as dagster-dbt names them.
PYTHON_ASSET_UPSTREAMS = {
    "profile_history": {"crm/customer_profiles"},
    "customer_scores": {"customer_features", "data_quality_issues"},
    "churn_predictions": {"customer_behaviour_features", "customer_activity_type_counts"},
    "churn_alerts": {"customer_scores", "churn_predictions"},
    "churn_alert_episodes": {"churn_alerts"},
    "engagement_distribution": {"customer_scores"},
    "churn_risk_overview": {"customer_scores"},
    "score_trends": {"customer_scores"},
    "churn_backtest": {"customer_scores"},
    "churn_model_backtest": {"customer_scores", "churn_predictions"},
    "profile_writeback": {"customer_scores"},
    "churn_model": {"customer_scores"},
}
# Every (day, tenant)-partitioned one reads the same partition of its upstreams (no mapping).
UNPARTITIONED = {"profile_history", "churn_model"}


def _graph():
    from crm_scoring.definitions import build_definitions

    return build_definitions().resolve_asset_graph()


def test_each_python_asset_reads_what_it_names() -> None:
    graph = _graph()
    upstreams = {
        name: {key.to_user_string() for key in graph.get(dg.AssetKey(name)).parent_keys}
        for name in PYTHON_ASSET_UPSTREAMS
    }
    assert upstreams == PYTHON_ASSET_UPSTREAMS


def test_every_upstream_is_an_asset_of_the_definitions() -> None:
    # a dependency on a key nobody defines would not fail: it would show as a stray asset
    from crm_scoring.definitions import build_definitions

    definitions = build_definitions()
    defined = set()
    for asset in definitions.assets or []:
        defined |= set(asset.keys) if isinstance(asset, dg.AssetsDefinition) else {asset.key}
    graph = definitions.resolve_asset_graph()
    stray = {parent for key in defined for parent in graph.get(key).parent_keys} - defined
    assert sorted(key.to_user_string() for key in stray) == []


def test_partitioned_assets_share_the_partitions_with_no_mapping() -> None:
    graph = _graph()
    for name in PYTHON_ASSET_UPSTREAMS:
        node = graph.get(dg.AssetKey(name))
        if name in UNPARTITIONED:
            assert node.partitions_def is None, name
        else:
            assert isinstance(node.partitions_def, dg.MultiPartitionsDefinition), name
            assert dict(node.partition_mappings) == {}, name


def test_dbt_model_keys_are_the_ones_dagster_dbt_gives() -> None:
    from dagster_dbt import get_asset_key_for_model

    from crm_scoring.defs.dbt import crm_dbt_models
    from crm_scoring.defs.dbt_project import dbt_model_key

    for model in ("customer_features", "data_quality_issues", "customer_behaviour_features"):
        assert dbt_model_key(model) == get_asset_key_for_model([crm_dbt_models], model)
