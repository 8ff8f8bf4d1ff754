"""Generated dashboards: golden files, determinism, queries from the metric catalog, valid resources.

The golden files are the output for examples/models.yaml; after an intended change, regenerate
them with ``modelmon dashboards generate --catalog examples/models.yaml --out tests/golden/dashboards``
and review the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes_validate
import yaml

from agent import metric_catalog as mc
from agent.catalog.load import load_catalog
from dashboards import build_dashboards, generate

ROOT = Path(__file__).resolve().parent.parent.parent
GOLDEN = ROOT / "tests" / "golden" / "dashboards"
EXAMPLE = ROOT / "examples" / "models.yaml"
KNOWN = {spec.name for spec in mc.ALL_METRICS}


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def targets(dashboard: dict) -> list[tuple[str, str]]:
    found = []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found.append((panel["title"], target["expr"]))
    return found


def test_the_example_catalog_gives_the_golden_files(tmp_path):
    generate(load_catalog(EXAMPLE), tmp_path)
    assert files(tmp_path) == files(GOLDEN)


def test_generation_is_deterministic(tmp_path):
    catalog = load_catalog(EXAMPLE)
    generate(catalog, tmp_path / "a")
    generate(catalog, tmp_path / "b")
    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_every_query_names_only_catalog_metrics_and_the_model_dashboard_follows_the_schema():
    catalog = load_catalog(EXAMPLE)
    dashboards = build_dashboards(catalog)
    assert len(dashboards) == 2 + len(catalog)
    for dashboard in dashboards.values():
        assert [v["name"] for v in dashboard["templating"]["list"]] == [
            "datasource",
            "namespace",
            "model",
            "version",
        ]
        for title, expr in targets(dashboard):
            for name in re.findall(r"\bmodelmon_[a-z0-9_]+", expr):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                assert name in KNOWN or base in KNOWN, f"{title}: {name} is not in the metric catalog"
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    model = next(iter(catalog))
    (mine,) = [d for d in dashboards.values() if d["title"] == f"modelmon / {model.identity}"]
    titles = {panel["title"] for panel in mine["panels"]}
    assert {f"Drift of {c.name}" for c in model.features} <= titles
    assert {f"Prediction drift of {c.name}" for c in model.outputs} <= titles
    assert {f"Drift share by {s.column}" for s in model.segments} <= titles
    assert "accuracy: realized and estimated" in titles  # the model has a quality section


def test_uids_are_stable_and_grafana_safe():
    uids = list(build_dashboards(load_catalog(EXAMPLE)))
    assert uids == list(build_dashboards(load_catalog(EXAMPLE)))
    assert all(re.fullmatch(r"[a-z0-9-]{1,40}", uid) for uid in uids)


def test_configmaps_validate_and_grafana_dashboards_are_well_formed(tmp_path):
    generate(load_catalog(EXAMPLE), tmp_path)
    for path in sorted((tmp_path / "configmaps").iterdir()):
        document = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(document, "1.30", strict=True)
        assert document["metadata"]["labels"]["grafana_dashboard"] == "1"
        (text,) = document["data"].values()
        assert json.loads(text)["uid"] == path.stem
    for path in sorted((tmp_path / "grafanadashboards").iterdir()):
        document = yaml.safe_load(path.read_text())
        assert (
            document["apiVersion"] == "grafana.integreatly.org/v1beta1"
            and document["kind"] == "GrafanaDashboard"
        )
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", document["metadata"]["name"])
        assert len(document["metadata"]["name"]) <= 253
        assert document["spec"]["instanceSelector"]["matchLabels"]
        assert json.loads(document["spec"]["json"])["uid"] == path.stem
