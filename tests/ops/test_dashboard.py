"""The Grafana dashboard (ops/grafana/boxoffice.json) reads the series Boxoffice defines, every one of them, and is a
dashboard Grafana can import. (Its Temporal SDK series are checked against a real worker's scrape in
test_metrics.py.)"""

from __future__ import annotations

from prometheus_client import REGISTRY

from boxoffice import metrics
from boxoffice.api import middleware
from tests.ops.dashboard import dashboard, queried

DEFINING = (metrics, middleware)  # importing them registers the business series and the HTTP series

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def defined() -> dict[str, set[str]]:
    """Every boxoffice_* family registered in this process, with the sample names it exposes."""
    return {
        fam.name: {fam.name + s for s in SUFFIXES.get(fam.type, ("",))}
        for fam in REGISTRY.collect()
        if fam.name.startswith("boxoffice_")
    }


def test_it_reads_every_boxoffice_series_and_only_those() -> None:
    families = defined()
    exposed = set().union(*families.values())
    assert queried("boxoffice_") <= exposed, queried("boxoffice_") - exposed
    unread = {fam for fam, samples in families.items() if not samples & queried("boxoffice_")}
    assert not unread, f"series no panel shows: {unread}"


def test_it_is_an_importable_dashboard() -> None:
    d = dashboard()
    assert d["uid"] == "boxoffice" and d["title"]
    assert [v["name"] for v in d["templating"]["list"]] == ["datasource"]
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    titles = {p["title"] for p in d["panels"] if p["type"] == "row"}
    assert {"Sale funnel", "Payments", "Refunds and the gate", "Webhooks", "Temporal workers (SDK)"} <= titles
    for p in d["panels"]:
        assert {"h", "w", "x", "y"} <= set(p["gridPos"]) and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p
        for t in p.get("targets", []):
            assert t["expr"].count("(") == t["expr"].count(")"), t["expr"]
            assert t["datasource"]["uid"] == "${datasource}"
