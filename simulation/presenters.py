"""A finished scenario's stored results, shaped for its page (tables and charts)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from simulation.charts import BASELINE, WHAT_IF, bar_chart, line_chart

# Headline figures: key, unit, digits, lower is better (the first three are the seed's)
HEADLINES = [
    ("wait", "min", 1, True),
    ("working_hours_per_day", "h", 1, False),
    ("response", "min", 1, True),
    ("throughput", "", 0, False),
    ("late", "", 0, True),
    ("wip", "", 1, True),
]


def _headline_rows(results: dict) -> list[dict]:
    base = results["baseline"]["headline"]
    variant = results.get("what_if", {}).get("headline", {})
    difference = results.get("difference", {})
    labels = {
        "wait": _("Average wait between operations"),
        "working_hours_per_day": _("Effective working hours per day"),
        "response": _("Response time to a fault"),
        "throughput": _("Orders finished"),
        "late": _("Late orders"),
        "wip": _("Orders in progress (mean)"),
    }
    units = {"min": _("min"), "h": _("h"), "": ""}
    rows = []
    for key, unit, digits, lower_is_better in HEADLINES:
        change = difference.get(key, {})
        better = None
        mean, ci = change.get("mean"), change.get("ci")
        if mean is not None and ci is not None and abs(mean) > ci:
            better = (mean < 0) == lower_is_better
        rows.append(
            {
                "label": labels[key],
                "unit": units[unit],
                "digits": digits,
                "base": base.get(key, {}),
                "what_if": variant.get(key),
                "difference": change or None,
                "better": better,
            }
        )
    return rows


def _station_rows(results: dict) -> list[dict]:
    base = results["baseline"]["stations"]
    variant = results.get("what_if", {}).get("stations", {})
    rows = []
    for code, figures in base.items():
        if not figures["operations"]["mean"]:
            continue  # nothing passed through it in the window
        rows.append({"code": code, "base": figures, "what_if": variant.get(code)})
    return rows


def _percent(figure: dict | None) -> tuple[float | None, float | None]:
    if not figure or figure.get("mean") is None:
        return None, None
    return figure["mean"] * 100, (figure.get("ci") or 0) * 100


def _charts(results: dict, rows: list[dict]) -> dict:
    utilisation, waits = [], []
    for row in rows:
        base_u, base_u_ci = _percent(row["base"]["utilisation"])
        what_u, what_u_ci = _percent((row["what_if"] or {}).get("utilisation"))
        utilisation.append(
            {"label": row["code"], "base": base_u, "base_ci": base_u_ci,
             "what_if": what_u, "what_if_ci": what_u_ci}
        )  # fmt: skip
        what_wait = (row["what_if"] or {}).get("wait") or {}
        waits.append(
            {"label": row["code"], "base": row["base"]["wait"]["mean"],
             "base_ci": row["base"]["wait"]["ci"], "what_if": what_wait.get("mean"),
             "what_if_ci": what_wait.get("ci")}
        )  # fmt: skip
    series = [(_("Baseline"), results["baseline"]["wip"], BASELINE)]
    if "what_if" in results:
        series.append((_("What-if"), results["what_if"]["wip"], WHAT_IF))
    return {
        "utilisation_chart": bar_chart(utilisation, unit="%", title=_("Utilisation"), scale=100),
        "wait_chart": bar_chart(waits, unit=_("min"), title=_("Mean queue time")),
        "wip_chart": line_chart(series, title=_("Orders in progress"), step_hours=1),
    }


def results_context(scenario) -> dict:
    results = scenario.results
    rows = _station_rows(results)
    backtest = results["backtest"]
    return {
        "results": results,
        "headlines": _headline_rows(results),
        "station_rows": rows,
        "has_what_if": "what_if" in results,
        "backtest": backtest,
        "checks": backtest["checks"],
        **_charts(results, rows),
    }
