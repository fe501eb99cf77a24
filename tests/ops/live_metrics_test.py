#!/usr/bin/env python3
"""A live `presync run` scraped by promtool and by a real Prometheus.

Starts kinesalite, the Connect and Graph emulators and `presync run` on
127.0.0.1, makes one agent log in so that writes flow, then:

1. scrapes /metrics and pipes it through `promtool check metrics`, which
   must report nothing; checks that the operations families carry values
   (API requests by operation and status class, poll cycles, consumer lag,
   event source stamps, token expiry, readiness, propagation delay) and
   that no user id appears in a label;
2. starts Prometheus (Debian's `prometheus`) on 127.0.0.1 with a
   generated config that scrapes presync every second and loads
   dashboards/rules/presync.rules.yaml, waits until recording rules return
   data, runs every dashboard query against it, and checks that no alert
   fires for the healthy tenant.

Usage: live_metrics_test.py BIN_DIR KINESALITE_JS
Waits poll for a condition with a deadline; nothing sleeps to synchronise.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN, KINESALITE = sys.argv[1], sys.argv[2]
ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests/ops"))
sys.path.insert(0, str(ROOT / "tests/support"))
import check_dashboards  # noqa: E402  (expressions of the dashboards)
from e2e import (call_if_up, check, control, free_port,  # noqa: E402
                 metric_values, parse_metrics, presync_config, presync_env,
                 run_script, spawn, start_emulators, wait_until)

GRAPH_SECRET = "graph-secret-5d0c2e"
AWS_SECRET = "aws-secret-1b7f44"


def series(text, name, **labels):
    """Returns the values of `name` on the page `text` whose labels
    include `labels`."""
    return metric_values(parse_metrics(text), name, **labels)


def start_presync(work):
    emulators = start_emulators(BIN, KINESALITE, 2, GRAPH_SECRET, AWS_SECRET)
    _, cport, gport = emulators
    agents = control(cport, "GET", "agents")["agents"]
    ids = [a["id"] for a in agents]
    for a in agents:
        ids.append(control(gport, "POST", "users", {
            "displayName": a["username"], "mail": a["username"],
            "userPrincipalName": a["username"]})["id"])

    api_port, metrics_port = free_port(), free_port()
    config = os.path.join(work, "presync.yaml")
    with open(config, "w") as f:
        f.write(presync_config(api_port, metrics_port, f"{work}/presync.db",
                               emulators, "e2e", connect="""
            outbound_contact_flow_id: 00000000-0000-0000-0000-0000000000d1
            outbound_queue_id: 00000000-0000-0000-0000-0000000000e1
            agent_statuses: [Meeting]
        """, sync="""
            min_hold: 1s
            teams_poll_interval: 1s
        """))
    env = presync_env(GRAPH_SECRET, AWS_SECRET, "api-token-0a9c3e",
                      PRESYNC_GRAPH_SECRET_EXPIRES_AT="2031-01-01T00:00:00Z")
    presync = spawn([f"{BIN}/presync", "run", "--config", config], env,
                    os.path.join(work, "presync.log"))
    wait_until("presync is ready",
               lambda: call_if_up(api_port, "GET", "/readyz")[0] == 200, 60)

    # One login makes a write to Teams, so the delay histogram fills.
    control(cport, "POST", f"agents/{agents[0]['id']}/login")
    return presync, metrics_port, ids


def scrape_checks(metrics_port, ids):
    def scraped():
        return call_if_up(metrics_port, "GET", "/metrics")[1]

    wait_until("a write to Teams is acknowledged and measured", lambda: series(
        scraped(), "presync_propagation_delay_seconds_count",
        tenant="e2e", direction="connect_to_teams"), 60)
    wait_until("a presence poll cycle is measured", lambda: series(
        scraped(), "presync_poll_cycle_duration_seconds_count", tenant="e2e"),
        60)
    text = scraped()

    lint = subprocess.run(["promtool", "check", "metrics"], input=text,
                          capture_output=True, text=True)
    check(lint.returncode == 0 and not lint.stdout.strip()
          and not lint.stderr.strip(),
          "promtool check metrics reports nothing "
          f"{(lint.stdout + lint.stderr).strip()!r}")

    now = time.time()
    count = lambda api, op: sum(series(  # noqa: E731
        text, "presync_api_requests_total", tenant="e2e", api=api,
        operation=op, status_class="2xx"))
    check(count("entra", "token") >= 1, "token requests counted")
    check(count("graph", "get_presences") >= 1, "presence polls counted")
    check(count("graph", "batch") + count("graph", "set_presence") >= 1,
          "presence writes counted")
    check(count("kinesis", "get_records") >= 1, "GetRecords counted")
    check(count("connect", "list_users") >= 1, "ListUsers counted")
    check(series(text, "presync_api_request_duration_seconds_count",
                 tenant="e2e", api="graph", operation="get_presences"),
          "request latency histogram exported")
    for source in ("kinesis", "teams_poll"):
        stamp = series(text,
                       "presync_event_source_last_success_timestamp_seconds",
                       tenant="e2e", source=source)
        check(stamp and now - 30 < stamp[0] <= now + 1,
              f"{source} last success is recent ({stamp})")
    lag = series(text, "presync_consumer_lag_seconds", tenant="e2e")
    check(lag and 0 <= lag[0] < 60, f"consumer lag exported ({lag})")
    token = series(text, "presync_graph_token_expiry_timestamp_seconds",
                   tenant="e2e")
    check(token and token[0] > now + 300, f"token expiry ahead ({token})")
    secret = series(text,
                    "presync_graph_client_secret_expiry_timestamp_seconds",
                    tenant="e2e")
    check(secret == [1924992000.0], f"declared secret expiry ({secret})")
    check(series(text, "presync_tenant_ready", tenant="e2e") == [1.0],
          "tenant ready is 1")
    check(series(text, "presync_persons_in_state", tenant="e2e",
                 state="write_failing") == [0.0], "nobody is write_failing")
    check(len(series(text, "presync_write_queue_depth", tenant="e2e")) == 2,
          "queue depth of both sides exported")
    check(series(text, "presync_api_budget_requests_per_second",
                 tenant="e2e", api="graph") == [50.0],
          "Graph presence budget is 1500 per 30 s")
    check(series(text, "presync_config_reloads_total", result="rejected")
          == [0.0], "config reloads exported")
    leaked = [i for i in ids if i in text]
    check(not leaked, f"no user id in the metrics {leaked or ''}")
    for secret_text in (GRAPH_SECRET, AWS_SECRET):
        check(secret_text not in text, "no secret in the metrics")


def prometheus_checks(metrics_port, work):
    if not shutil.which("prometheus"):
        check(False, "prometheus is installed (deploy/packages.txt)")
        return
    port = free_port()
    config = os.path.join(work, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {ROOT}/dashboards/rules/presync.rules.yaml
scrape_configs:
  - job_name: presync
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
    r = subprocess.run(["promtool", "check", "config", config],
                       capture_output=True, text=True)
    check(r.returncode == 0, "promtool check config accepts the test config")
    spawn(["prometheus", f"--config.file={config}",
           f"--web.listen-address=127.0.0.1:{port}",
           f"--storage.tsdb.path={work}/tsdb", "--log.level=warn"], None,
          os.path.join(work, "prometheus.log"))
    wait_until("Prometheus is ready",
               lambda: call_if_up(port, "GET", "/-/ready")[0] == 200, 60)

    def query(expr):
        status, text = call_if_up(port, "GET", "/api/v1/query?" +
                                  urllib.parse.urlencode({"query": expr}))
        return json.loads(text) if status == 200 else {"status": status,
                                                       "error": text}

    def has_data(expr):
        return query(expr).get("data", {}).get("result")

    wait_until("up{job=\"presync\"} is 1",
               lambda: [r for r in has_data('up{job="presync"}') or []
                        if r["value"][1] == "1"], 30)
    got = wait_until(
        "recording rule tenant_api:presync_api_requests:rate5m returns data",
        lambda: has_data('tenant_api:presync_api_requests:rate5m'
                         '{tenant="e2e",api="graph"} > 0'), 60)
    if got:
        print(f"     {got[0]['metric']} = {got[0]['value'][1]}")
    wait_until("recording rule tenant_api:presync_api_budget_usage:ratio5m "
               "returns data", lambda: has_data(
                   'tenant_api:presync_api_budget_usage:ratio5m'
                   '{tenant="e2e",api="graph"}'), 30)
    wait_until("propagation delay p95 is recorded", lambda: has_data(
        'tenant_direction:presync_propagation_delay_seconds:p95_5m'
        '{tenant="e2e",direction="connect_to_teams"}'), 30)

    # Every dashboard query runs on the real server.
    bad = []
    total = 0
    for path in sorted((ROOT / "dashboards").glob("presync-*.json")):
        dashboard = json.loads(path.read_text())
        for where, expr in check_dashboards.expressions(dashboard):
            expr = check_dashboards.substitute(expr).replace("acme", "e2e")
            total += 1
            answer = query(expr)
            if answer.get("status") != "success":
                bad.append(f"{path.name} {where}: {answer}")
    check(not bad, f"all {total} dashboard queries run on Prometheus {bad}")

    firing = [a["labels"]["alertname"] for a in
              query('ALERTS{alertstate="firing"}')["data"]["result"]]
    check(not firing, f"no alert fires for the healthy tenant {firing}")


def main():
    work = tempfile.mkdtemp(prefix="presync-live-metrics-")
    presync, metrics_port, ids = start_presync(work)
    scrape_checks(metrics_port, ids)
    prometheus_checks(metrics_port, work)
    presync.send_signal(signal.SIGTERM)
    try:
        rc = presync.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "presync exits 0 on SIGTERM")
    shutil.rmtree(work, ignore_errors=True)


run_script(main, "live_metrics")
