"""The Prometheus text format for families with one sample per monitor, written fast.

prometheus-client's `generate_latest` spends about 6 µs on each sample (label escaping and name
checks per line) and its `add_metric` another 2.5 µs: 10,000 monitors with five families each took
over 400 ms here. A `Family` keeps its rows as plain tuples and `render` writes them the way
`generate_latest` does, escaping each monitor's label once per scrape: the same bytes (the tests
compare the two), in about a tenth of the time. Everything else on `/metrics` goes through
prometheus-client itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.utils import floatToGoString

Row = tuple[tuple[str, ...], float]


@dataclass(slots=True)
class Family:
    """A gauge or counter family: label names, then (label values, value) rows."""

    name: str
    documentation: str
    type: Literal["gauge", "counter"]
    label_names: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)

    def add(self, labels: tuple[str, ...], value: float) -> None:
        self.rows.append((labels, value))

    def metric(self) -> Metric:
        """The same family as prometheus-client's own object (what `generate_latest` renders)."""
        kind = CounterMetricFamily if self.type == "counter" else GaugeMetricFamily
        family = kind(self.name, self.documentation, labels=list(self.label_names))
        for labels, value in self.rows:
            family.add_metric(list(labels), value)
        return family


def go_float(value: float) -> str:
    """`floatToGoString`, with a shortcut for the plain numbers that make up most samples."""
    kind = type(value)
    if kind is int and 0 <= value < 1_000_000:
        return f"{value}.0"
    if kind is float and 0.0 <= value < 1_000_000.0:  # NaN fails the comparison
        return repr(value)
    return floatToGoString(value)


def _escaper() -> Callable[[str], str]:
    """Escape a label value once per scrape, however many families carry it."""
    cache: dict[str, str] = {}

    def escaped(text: str) -> str:
        found = cache.get(text)
        if found is None:
            found = cache[text] = text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
        return found

    return escaped


def render(families: Iterable[Family]) -> str:
    """`generate_latest`'s text for these families (sorted label names, as it writes them)."""
    out: list[str] = []
    escaped = _escaper()
    for family in families:
        name = f"{family.name}_total" if family.type == "counter" else family.name
        help_text = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
        out.append(f"# HELP {name} {help_text}\n# TYPE {name} {family.type}\n")
        if len(family.label_names) == 1:  # the common case, one monitor per line: its own loop
            head = f'{name}{{{family.label_names[0]}="'
            out.extend([f'{head}{escaped(value)}"}} {go_float(number)}\n'
                        for (value,), number in family.rows])
            continue
        if family.label_names == ("monitor", "outcome"):  # the check counter: labels already in order
            head = f'{name}{{monitor="'
            out.extend([f'{head}{escaped(monitor)}",outcome="{escaped(outcome)}"}} {go_float(number)}\n'
                        for (monitor, outcome), number in family.rows])
            continue
        order = sorted(range(len(family.label_names)), key=lambda i: family.label_names[i])
        keys = [family.label_names[i] for i in order]
        for labels, number in family.rows:
            text = ",".join([f'{key}="{escaped(labels[i])}"' for key, i in zip(keys, order, strict=True)])
            out.append(f"{name}{{{text}}} {go_float(number)}\n")
    return "".join(out)
