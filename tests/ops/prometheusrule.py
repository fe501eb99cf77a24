#!/usr/bin/env python3
"""Keeps deploy/kubernetes/base/prometheusrule.yaml equal to the rule file.

The Prometheus rule file dashboards/rules/presync.rules.yaml is the source;
the PrometheusRule manifest carries the same groups for the Prometheus
Operator.

Usage: prometheusrule.py --write   regenerate the manifest
       prometheusrule.py --check   exit 1 when the manifest's groups differ
"""
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RULES = ROOT / "dashboards/rules/presync.rules.yaml"
MANIFEST = ROOT / "deploy/kubernetes/base/prometheusrule.yaml"
HEADER = """\
# Generated from dashboards/rules/presync.rules.yaml by
# `python3 tests/ops/prometheusrule.py --write`; edit the rule file, not
# this one (make ops-check fails when they differ).
"""


class IndentedDumper(yaml.SafeDumper):
    """Indents sequences under their key, as yamllint's default expects."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def long_strings_folded(dumper, text):
    """Writes long strings folded (>-), so no line but an unbreakable word
    passes yamllint's limit."""
    style = ">" if len(text) > 80 and "\n" not in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


IndentedDumper.add_representer(str, long_strings_folded)


def manifest(groups):
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "presync",
            "labels": {
                "app.kubernetes.io/name": "presync",
                "app.kubernetes.io/component": "service",
            },
        },
        "spec": {"groups": groups},
    }


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "--check"
    groups = yaml.safe_load(RULES.read_text())["groups"]
    if mode == "--write":
        text = yaml.dump(manifest(groups), Dumper=IndentedDumper,
                         sort_keys=False, width=60, allow_unicode=True)
        MANIFEST.write_text(HEADER + text)
        print(f"wrote {MANIFEST.relative_to(ROOT)}")
        return 0
    if mode != "--check":
        print(__doc__, file=sys.stderr)
        return 2
    doc = yaml.safe_load(MANIFEST.read_text())
    if doc != manifest(groups):
        print(f"FAIL {MANIFEST.relative_to(ROOT)} differs from "
              f"{RULES.relative_to(ROOT)}: run tests/ops/prometheusrule.py "
              "--write")
        return 1
    print(f"ok   {MANIFEST.relative_to(ROOT)} matches the rule file "
          f"({sum(len(g['rules']) for g in groups)} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
