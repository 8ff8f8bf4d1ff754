"""What every generated dashboard shares: template variables, links, stable uids, the runbook URL."""

from __future__ import annotations

from grafanalib.core import Dashboard, DashboardLink, Template, Templating, Time

from agent import metric_catalog as mc
from agent.catalog.links import RUNBOOKS, stable_uid

__all__ = ["RUNBOOKS", "TAG", "dashboard", "links", "model_variables", "stable_uid", "variables"]

TAG = "modelmon"
_ANCHOR = mc.WINDOW_RECORDS.name  # a series every monitored model version has


def _datasource() -> Template:
    return Template(
        name="datasource", label="Data source", query="prometheus", type="datasource", default="Prometheus"
    )


def _query_variable(name: str, label: str, query: str, **extra: object) -> Template:
    return Template(
        name=name,
        label=label,
        query=query,
        dataSource="${datasource}",
        includeAll=True,
        allValue=".*",
        refresh=2,
        **extra,
    )


def variables(*, namespace: str | None = None, model: str | None = None) -> list[Template]:
    """datasource, namespace, model and version; fixed to one model when ``namespace``/``model`` are given."""
    found = [_datasource()]
    if namespace is None:
        found.append(_query_variable("namespace", "Namespace", f"label_values({_ANCHOR}, namespace)"))
    else:
        found.append(
            Template(name="namespace", label="Namespace", query=namespace, type="custom", default=namespace)
        )
    if model is None:
        found.append(
            _query_variable("model", "Model", f'label_values({_ANCHOR}{{namespace=~"$namespace"}}, model)')
        )
    else:
        found.append(Template(name="model", label="Model", query=model, type="custom", default=model))
    found.append(
        _query_variable(
            "version",
            "Version",
            f'label_values({_ANCHOR}{{namespace=~"$namespace", model=~"$model"}}, version)',
            default="All",
        )
    )
    return found


def model_variables(namespace: str, model: str) -> list[Template]:
    return variables(namespace=namespace, model=model)


def links(runbook: str = "") -> list[DashboardLink]:
    """Every modelmon dashboard (by tag, keeping time and variables), and the runbooks."""
    return [
        DashboardLink(
            title="modelmon", type="dashboards", tags=[TAG], asDropdown=True, includeVars=True, keepTime=True
        ),
        DashboardLink(
            title="Runbooks", type="link", uri=f"{RUNBOOKS}{runbook}", icon="doc", targetBlank=True
        ),
    ]


def dashboard(
    *,
    title: str,
    uid: str,
    kind: str,
    description: str,
    templates: list[Template],
    runbook: str,
    panels: list[object],
    refresh: str,
) -> Dashboard:
    """A modelmon dashboard: tagged, linked to the others and to its runbook, 6 h in UTC."""
    return Dashboard(
        title=title,
        uid=uid,
        tags=[TAG, kind],
        description=description,
        templating=Templating(list=templates),
        links=links(runbook),
        panels=panels,
        time=Time("now-6h", "now"),
        refresh=refresh,
        timezone="utc",
    ).auto_panel_ids()
