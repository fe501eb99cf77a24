#!/usr/bin/env python3
"""Checks the Grafana dashboards and rules beyond their JSON Schema.

1. Every PromQL expression of every panel and of the tenant variable's
   label_values() is parsed by promtool: the expressions, with Grafana's
   variables replaced by sample values, become recording rules of a
   generated rule file that `promtool check rules` must accept.
2. Every presync_* name that a dashboard or dashboards/rules uses is a
   family declared in adapters/metrics/metrics.cpp (histograms with their
   _bucket, _sum and _count series), and every recorded name a dashboard
   uses is recorded in dashboards/rules/presync.rules.yaml.
3. Panel ids are unique and no two panels overlap on the grid.
4. docs/operations.md has a section for every alert, which the alert's
   runbook annotation links, and lists every declared metric family.

Usage: check_dashboards.py [ROOT]   exit 1 on any failure
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]  # main() may change it
RESULTS = {"passed": 0, "failed": 0}

# Grafana's variables and the values the check substitutes for them.
VARIABLES = [
    (r"\$__rate_interval", "5m"),
    (r"\$__interval", "1m"),
    (r"\$__range", "1h"),
    (r"\$\{tenant(:[a-z]+)?\}", "acme"),
    (r"\$tenant\b", "acme"),
]


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    RESULTS["passed" if ok else "failed"] += 1


def panels(dashboard):
    for p in dashboard["panels"]:
        yield p
        yield from p.get("panels", [])


def expressions(dashboard):
    """Yields (where, expr) for each query of a dashboard."""
    for p in panels(dashboard):
        for t in p.get("targets", []):
            yield f'panel {p["id"]} "{p["title"]}" {t["refId"]}', t["expr"]
    for v in dashboard["templating"]["list"]:
        query = v.get("query")
        text = query.get("query", "") if isinstance(query, dict) else ""
        m = re.fullmatch(r"label_values\((.+),\s*\w+\)", text)
        if m:
            yield f'variable {v["name"]}', m.group(1)


def substitute(expr):
    for pattern, value in VARIABLES:
        expr = re.sub(pattern, value, expr)
    return expr


def family_names():
    source = (ROOT / "adapters/metrics/metrics.cpp").read_text()
    return set(re.findall(r'\.Name\("(presync_\w+)"\)', source))


def declared_families():
    source = (ROOT / "adapters/metrics/metrics.cpp").read_text()
    names = family_names()
    histograms = set(re.findall(
        r'BuildHistogram\(\)\s*\.Name\("(presync_\w+)"\)', source))
    series = set(names)
    for h in histograms:
        series |= {h + "_bucket", h + "_sum", h + "_count"}
    return series


def recorded_names(rules):
    return {r["record"] for g in rules["groups"] for r in g["rules"]
            if "record" in r}


def promtool_parses(exprs):
    """Returns promtool's verdict on every expression at once."""
    rules = {"groups": [{"name": "dashboard-expressions", "rules": [
        {"record": f"dashboard:expr_{i}:check", "expr": e}
        for i, (_, e) in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        run = subprocess.run(["promtool", "check", "rules", f.name],
                             capture_output=True, text=True)
    return run.returncode == 0, run.stdout + run.stderr


def overlaps(dashboard):
    cells = {}
    clashes = []
    for p in panels(dashboard):
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells and cells[(x, y)] != p["id"]:
                    clashes.append((cells[(x, y)], p["id"]))
                cells[(x, y)] = p["id"]
    return sorted(set(clashes))


def main():
    global ROOT
    if len(sys.argv) > 1:
        ROOT = pathlib.Path(sys.argv[1])
    rules_file = ROOT / "dashboards/rules/presync.rules.yaml"
    rules = yaml.safe_load(rules_file.read_text())
    families = declared_families()
    recorded = recorded_names(rules)
    check(len(families) > 20, f"{len(families)} series names declared in "
          "adapters/metrics/metrics.cpp")

    rule_exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for name in sorted({n for e in rule_exprs
                        for n in re.findall(r"(?<![\w:])presync_\w+", e)}):
        check(name in families, f"rules: {name} is a declared metric")

    all_exprs = []
    for path in sorted((ROOT / "dashboards").glob("presync-*.json")):
        dashboard = json.loads(path.read_text())
        name = path.name
        exprs = [(w, substitute(e)) for w, e in expressions(dashboard)]
        all_exprs += [(f"{name} {w}", e) for w, e in exprs]
        check(len(exprs) > 5, f"{name}: {len(exprs)} queries")

        leftovers = [w for w, e in exprs if "$" in e]
        check(not leftovers, f"{name}: every Grafana variable in a query is "
              f"known {leftovers or ''}")

        used = {n for _, e in exprs
                for n in re.findall(r"(?<![\w:])presync_\w+", e)}
        for n in sorted(used):
            check(n in families, f"{name}: {n} is a declared metric")
        used_records = {n for _, e in exprs
                        for n in re.findall(r"\b[a-z_]+:presync_\w+:\w+", e)}
        for n in sorted(used_records):
            check(n in recorded, f"{name}: {n} is a recording rule")

        ids = [p["id"] for p in panels(dashboard)]
        check(len(ids) == len(set(ids)), f"{name}: panel ids are unique")
        clashes = overlaps(dashboard)
        check(not clashes, f"{name}: no panels overlap {clashes or ''}")

    docs = (ROOT / "docs/operations.md").read_text()
    sections = set(re.findall(r"^### (\w+)$", docs, re.M))
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        if "alert" not in rule:
            continue
        name = rule["alert"]
        check(name in sections and rule["annotations"].get("runbook") ==
              f"docs/operations.md#{name.lower()}",
              f"docs/operations.md explains {name} and its runbook links it")
    for name in sorted(family_names()):
        check(f"| `{name}` |" in docs,
              f"docs/operations.md lists {name}")

    ok, output = promtool_parses(all_exprs)
    check(ok, f"promtool parses all {len(all_exprs)} dashboard queries")
    if not ok:
        print(output)
        # Name the culprits one by one.
        for where, e in all_exprs:
            if not promtool_parses([(where, e)])[0]:
                print(f"     cannot parse: {where}: {e}")

    print(f"dashboards: {RESULTS['passed']} passed, "
          f"{RESULTS['failed']} failed")
    return 1 if RESULTS["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
