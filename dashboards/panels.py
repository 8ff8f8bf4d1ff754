"""Panels, laid out: a small layer over grafanalib so every dashboard reads as a list of rows.

Every panel uses the ``$datasource`` variable, and every target is a PromQL string built by
``dashboards.promql``. :class:`Layout` places panels left to right, a new line when a row is full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grafanalib.core import GridPos, RowPanel, Stat, Table, Target, TimeSeries

__all__ = ["Layout", "Query", "stat", "table", "timeseries"]

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


def _targets(queries: list[Query]) -> list[Target]:
    return [
        Target(
            expr=q.expr,
            legendFormat=q.legend,
            refId=chr(ord("A") + i),
            instant=q.instant,
            datasource=DATASOURCE,
        )
        for i, q in enumerate(queries)
    ]


def timeseries(
    title: str, queries: list[Query], unit: str = "", description: str = "", width: int = 12
) -> tuple[Any, int]:
    panel = TimeSeries(
        title=title,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        description=description,
        legendDisplayMode="table",
        legendPlacement="right" if width >= 16 else "bottom",
    )
    return panel, width


def stat(title: str, query: Query, unit: str = "", description: str = "", width: int = 4) -> tuple[Any, int]:
    panel = Stat(
        title=title,
        dataSource=DATASOURCE,
        targets=_targets([query]),
        format=unit or "none",
        description=description,
        reduceCalc="lastNotNull",
        graphMode="area",
    )
    return panel, width


def table(title: str, queries: list[Query], description: str = "", width: int = 24) -> tuple[Any, int]:
    panel = Table(
        title=title,
        dataSource=DATASOURCE,
        targets=_targets([Query(q.expr, q.legend, instant=True) for q in queries]),
        description=description,
        transformations=[
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}}},
        ],
    )
    return panel, width


@dataclass
class Layout:
    """Panels placed on Grafana's 24-column grid, in rows."""

    panels: list[Any] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _height: int = 0

    def row(self, title: str) -> None:
        self._newline()
        self.panels.append(RowPanel(title=title, gridPos=GridPos(h=1, w=24, x=0, y=self._y)))
        self._y += 1

    def add(self, sized: tuple[Any, int], height: int = 8) -> None:
        panel, width = sized
        if self._x + width > 24:
            self._newline()
        panel.gridPos = GridPos(h=height, w=width, x=self._x, y=self._y)
        self.panels.append(panel)
        self._x += width
        self._height = max(self._height, height)

    def _newline(self) -> None:
        if self._x:
            self._y += self._height
        self._x = self._height = 0
