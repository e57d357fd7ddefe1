"""The global lineage names each asset once: no two keys end in the same name."""

from collections import Counter


def test_no_two_assets_share_a_name_in_the_lineage() -> None:
    from crm_scoring.definitions import build_definitions

    keys = build_definitions().resolve_asset_graph().get_all_asset_keys()
    names = Counter(key.path[-1] for key in keys)
    assert [name for name, count in names.items() if count > 1] == []
    # the BI view over customer_scores is told apart by its name, not only by its group box
    assert {"customer_scores", "customer_scores_view"} <= set(names)
