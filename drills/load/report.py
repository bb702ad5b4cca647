"""The load drill's report: an HTML page with inline SVG charts, and the console summary."""

from __future__ import annotations

import html
import json


def svg_chart(title: str, points: list[tuple[float, float]], unit: str, color: str) -> str:
    """A small line chart as inline SVG (no scripts, no external files)."""
    width, height, pad = 520, 160, 34
    if not points:
        return f"<figure><figcaption>{html.escape(title)}: no data</figcaption></figure>"
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x_max = max(max(xs), 1.0)
    y_max = max(max(ys), 1e-9) * 1.1

    def x(value):
        return pad + (width - 2 * pad) * value / x_max

    def y(value):
        return height - pad + (2 * pad - height) * value / y_max

    line = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in points)
    return (
        f"<figure><figcaption>{html.escape(title)} (max {max(ys):g} {html.escape(unit)})"
        f"</figcaption><svg width='{width}' height='{height}' role='img'>"
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' "
        "stroke='#888'/>"
        f"<line x1='{pad}' y1='{pad}' x2='{pad}' y2='{height - pad}' stroke='#888'/>"
        f"<text x='2' y='{pad}' font-size='10'>{y_max:.3g}</text>"
        f"<text x='{width - pad - 20}' y='{height - 8}' font-size='10'>{x_max:.0f} s</text>"
        f"<polyline fill='none' stroke='{color}' stroke-width='1.5' points='{line}'/></svg>"
        "</figure>"
    )


def html_report(report: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(e['name'])}</td><td>{e['kind']}</td><td>{e['requests']}</td>"
        f"<td>{e['rps']}</td><td>{e['p50_ms']:.0f}</td><td>{e['p95_ms']:.0f}</td>"
        f"<td>{e['p99_ms']:.0f}</td><td>{e['error_rate']:.3%}</td></tr>"
        for e in [*report["endpoints"], report["total"]]
        if e
    )
    checks = "".join(
        f"<tr class='{'ok' if c['pass'] else 'bad'}'><td>{'PASS' if c['pass'] else 'FAIL'}</td>"
        f"<td>{html.escape(c['check'])}</td><td>{html.escape(c['got'])}</td></tr>"
        for c in report["verdict"]["checks"]
    )
    samples, history = report["samples"], report["history"]
    charts = "".join(
        [
            svg_chart("Requests/s", [(h["t"], h["rps"]) for h in history], "req/s", "#1f77b4"),
            svg_chart(
                "p95 (all requests)", [(h["t"], h["p95_ms"]) for h in history], "ms", "#d62728"
            ),
            svg_chart("CPU", [(s["t"], s["cpu_percent"]) for s in samples], "%", "#ff7f0e"),
            svg_chart(
                "Memory used", [(s["t"], s["memory_used_mb"]) for s in samples], "MB", "#2ca02c"
            ),
            svg_chart(
                "Disk writes",
                [(s["t"], s.get("disk_write_mb_s", 0)) for s in samples],
                "MB/s",
                "#9467bd",
            ),
            svg_chart(
                "Database connections (drill DB)",
                [(s["t"], s.get("db_connections", 0)) for s in samples],
                "",
                "#8c564b",
            ),
        ]
    )
    verdict = "PASS" if report["verdict"]["pass"] else "FAIL"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Load drill {html.escape(report["started"])}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child{{text-align:left}}
tr.ok td:first-child{{color:#080}}tr.bad td:first-child{{color:#c00}}
figure{{display:inline-block;margin:0 1em 1em 0}}</style></head><body>
<h1>Load drill: {verdict}</h1>
<p>{html.escape(report["started"])} &middot; {html.escape(report["command"])} &middot;
{report["machine"]["cores"]} cores &middot; commit {html.escape(report["code"]["commit"])}</p>
<h2>Verdict</h2><table>{checks}</table>
<h2>Endpoints</h2><table><tr><th>endpoint</th><th>kind</th><th>requests</th><th>req/s</th>
<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>errors</th></tr>{rows}</table>
<h2>Over time</h2>{charts}
<h2>Resource peaks</h2><pre>{html.escape(json.dumps(report["resources"], indent=2))}</pre>
<h2>Ramp-up (statistics reset once every user has started; not in the verdict)</h2>
<pre>{html.escape(json.dumps(report.get("ramp_up"), indent=2))}</pre>
<h2>CPU by part (% of all cores over the load)</h2>
<pre>{html.escape(json.dumps(report.get("cpu_percent_by_part"), indent=2))}</pre>
<h2>Integrity</h2><pre>{html.escape(json.dumps(report["integrity"], indent=2))}</pre>
<h2>Failures</h2><pre>{html.escape(json.dumps(report["failures"], indent=2))}</pre>
</body></html>"""


def print_report(report: dict) -> None:
    line = "-" * 96
    print(line)
    print(
        f"Load drill {report['started']}  {report['options']['users']} users, "
        f"{report['options']['duration']} s, {report['machine']['cores']} cores"
    )
    print(line)
    print(
        f"{'endpoint':48} {'kind':6} {'reqs':>6} {'req/s':>6} {'p50':>6} {'p95':>6} "
        f"{'p99':>6} {'err':>7}"
    )
    for e in [*report["endpoints"], report["total"]]:
        if e:
            print(
                f"{e['name'][:48]:48} {e['kind']:6} {e['requests']:6d} {e['rps']:6.1f} "
                f"{e['p50_ms']:6.0f} {e['p95_ms']:6.0f} {e['p99_ms']:6.0f} {e['error_rate']:7.3%}"
            )
    print(line)
    print("resources: " + json.dumps(report["resources"]))
    print("cpu by part, % of all cores: " + json.dumps(report.get("cpu_percent_by_part")))
    print("ramp-up (not in the verdict): " + json.dumps(report.get("ramp_up")))
    if report["integrity"]:
        print(
            "checked: "
            + json.dumps({k: v for k, v in report["integrity"].items() if "samples" not in k})
        )
    for failure in report["failures"][:5]:
        print(f"failure: {failure['occurrences']}x {failure['name']}: {failure['error']}")
    print(line)
    for check in report["verdict"]["checks"]:
        print(f"{'PASS' if check['pass'] else 'FAIL'}  {check['check']}  (got {check['got']})")
    print(f"VERDICT: {'PASS' if report['verdict']['pass'] else 'FAIL'}")
    print(line)
