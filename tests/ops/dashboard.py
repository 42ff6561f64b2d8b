"""The Grafana dashboard in the repository (ops/grafana/boxoffice.json) and the series its queries read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parents[2] / "ops" / "grafana" / "boxoffice.json"
SERIES = re.compile(r"\b((?:boxoffice|temporal)_[a-z0-9_]+)\b")


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def queried(prefix: str) -> set[str]:
    """The series of ``prefix`` that the dashboard's queries read."""
    exprs = [t["expr"] for p in dashboard()["panels"] for t in p.get("targets", [])]
    return {name for e in exprs for name in SERIES.findall(e) if name.startswith(prefix)}
