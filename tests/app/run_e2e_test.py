#!/usr/bin/env python3
"""`presync run` end to end against the emulators, all on 127.0.0.1.

Starts kinesalite, the Connect and Graph emulators and `presync run` with a
generated config, then checks the product's promises one by one: readiness,
identity conflicts, Connect -> Teams projection, a Teams meeting moving the
agent to Meeting and back, a short flick not propagated, metrics, no secret
in anything presync printed or served, and a clean SIGTERM.

Usage: run_e2e_test.py BIN_DIR KINESALITE_JS
Waits poll for a condition with a deadline; nothing sleeps to synchronise.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "support"))
from e2e import (call, call_if_up, check, control, free_port,  # noqa: E402
                 presync_config, presync_env, run_script, spawn,
                 start_emulators, teams_session, wait_until)

BIN, KINESALITE = sys.argv[1], sys.argv[2]
GRAPH_SECRET = "graph-secret-4f1e9a"
AWS_SECRET = "aws-secret-7c2d0b"
API_TOKEN = "api-token-93be51"


def main():
    work = tempfile.mkdtemp(prefix="presync-run-e2e-")
    emulators = start_emulators(BIN, KINESALITE, 4, GRAPH_SECRET, AWS_SECRET)
    _, cport, gport = emulators

    agents = {a["username"]: a for a in control(cport, "GET", "agents")["agents"]}
    graph = {}
    for n in (1, 2, 3):
        upn = f"agent{n:04d}@example.com"
        graph[n] = control(gport, "POST", "users", {
            "displayName": f"Agent {n}", "mail": upn,
            "userPrincipalName": upn})["id"]
    control(gport, "POST", "users", {"displayName": "Office",
                                     "userPrincipalName": "office1@example.com",
                                     "mail": "office1@example.com"})
    # Two Teams users claim agent 4 by username: neither may win.
    for domain in ("a.example", "b.example"):
        control(gport, "POST", "users", {"userPrincipalName":
                                         f"agent0004@{domain}"})
    agent = {n: agents[f"agent{n:04d}@example.com"]["id"] for n in (1, 2, 3)}

    api_port, metrics_port = free_port(), free_port()
    config = os.path.join(work, "presync.yaml")
    with open(config, "w") as f:
        f.write(presync_config(api_port, metrics_port, f"{work}/presync.db",
                               emulators, "e2e", connect="""
            outbound_contact_flow_id: 00000000-0000-0000-0000-0000000000d1
            outbound_queue_id: 00000000-0000-0000-0000-0000000000e1
            agent_statuses: [Lunch, Break, Training, Meeting, TeamsCall]
        """, sync="""
            min_hold: 2s
            teams_poll_interval: 1s
            directory_interval: 2s
        """))
    env = presync_env(GRAPH_SECRET, AWS_SECRET, API_TOKEN)

    # A broken config starts nothing and names the problem's path.
    bad = os.path.join(work, "bad.yaml")
    with open(bad, "w") as f:
        f.write(open(config).read().replace("min_hold: 2s", "min_hold: soon"))
    r = subprocess.run([f"{BIN}/presync", "run", "--config", bad], env=env,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2, "an invalid config exits 2")
    check("tenants[0].sync.min_hold" in r.stderr,
          "the error names tenants[0].sync.min_hold")

    log_path = os.path.join(work, "presync.log")
    presync = spawn([f"{BIN}/presync", "run", "--config", config], env,
                    log_path)

    def status(path, token=API_TOKEN):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return call_if_up(api_port, "GET", path, headers=headers)

    wait_until("/readyz answers 200", lambda: status("/readyz")[0] == 200, 60)
    check(status("/healthz")[0] == 200, "/healthz answers 200")

    code, body = status("/v1/tenants/e2e/identity/conflicts")
    conflicts = json.loads(body)["conflicts"] if code == 200 else []
    check(len(conflicts) == 1 and conflicts[0]["key"] == "username" and
          len(conflicts[0]["teams_users"]) == 2 and
          conflicts[0]["connect_users"] == [agents["agent0004@example.com"]["id"]],
          "the username conflict is listed with both Teams users")
    check(status("/v1/tenants/e2e/identity/conflicts", None)[0] == 401,
          "/v1 without a token is 401")
    check(status("/v1/tenants/e2e/identity/conflicts", "wrong")[0] == 401,
          "/v1 with a wrong token is 401")

    def session(n):
        return teams_session(gport, graph[n])

    def agent_status(n):
        return control(cport, "GET", f"agents/{agent[n]}")["status"]["name"]

    # Connect -> Teams: login, a call, after-contact work, back.
    control(cport, "POST", f"agents/{agent[1]}/login")
    wait_until("login shows Available in Teams",
               lambda: session(1) == "Available/Available")
    contact = control(cport, "POST", f"agents/{agent[1]}/contacts")["contact_id"]
    control(cport, "POST", f"agents/{agent[1]}/contacts/{contact}/connect")
    wait_until("a call shows Busy/InACall in Teams",
               lambda: session(1) == "Busy/InACall")
    control(cport, "POST", f"agents/{agent[1]}/contacts/{contact}/end")
    control(cport, "POST", f"agents/{agent[1]}/contacts/{contact}/clear")
    wait_until("after the call Teams shows Available again",
               lambda: session(1) == "Available/Available")

    # Teams -> Connect: a meeting sets Meeting, its end restores Available.
    control(cport, "POST", f"agents/{agent[2]}/login")
    wait_until("agent 2 Available in Teams",
               lambda: session(2) == "Available/Available")
    control(gport, "PUT", f"users/{graph[2]}/teams-client",
            {"availability": "Busy", "activity": "InAMeeting"})
    wait_until("a Teams meeting sets the agent to Meeting",
               lambda: agent_status(2) == "Meeting")
    control(gport, "PUT", f"users/{graph[2]}/teams-client",
            {"availability": "Available", "activity": "Available"})
    wait_until("the meeting's end restores Available",
               lambda: agent_status(2) == "Available")

    # A status held shorter than min_hold is not propagated.
    control(cport, "POST", f"agents/{agent[3]}/login")
    wait_until("agent 3 Available in Teams",
               lambda: session(3) == "Available/Available")
    control(gport, "POST", "writes/reset")
    control(cport, "POST", f"agents/{agent[3]}/status", {"status": "Lunch"})
    control(cport, "POST", f"agents/{agent[3]}/status",
            {"status": "Available"})
    control(cport, "POST", f"agents/{agent[1]}/status", {"status": "Break"})
    wait_until("a later change of agent 1 is propagated",
               lambda: session(1) == "Away/Away")
    writes = control(gport, "GET", "writes")["writes"]
    check(not [w for w in writes if w["userId"] == graph[3]],
          "the short Lunch of agent 3 was not written to Teams")

    # A new agent with a new Teams account is picked up by the directory
    # round and synced without a restart.
    new_agent = control(cport, "POST", "agents", {
        "username": "agent0005@example.com", "email": "agent0005@example.com",
        "first_name": "New", "last_name": "Agent"})["agents"][0]["id"]
    graph[5] = control(gport, "POST", "users", {
        "displayName": "New Agent", "mail": "agent0005@example.com",
        "userPrincipalName": "agent0005@example.com"})["id"]
    agent[5] = new_agent
    wait_until("the directory round pairs the new accounts",
               lambda: "agent0005" in open(log_path).read() or
               '"added":1' in open(log_path).read(), 30)
    control(cport, "POST", f"agents/{agent[5]}/login")
    wait_until("the new agent's login shows Available in Teams",
               lambda: session(5) == "Available/Available")

    # Reload: a broken file is rejected and the running config stays; a
    # valid one (sent by SIGHUP) changes a map at once.
    def replace_config(text):
        tmp = config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, config)

    good = open(config).read()
    replace_config(good.replace("min_hold: 2s", "min_hold: later"))
    wait_until("an invalid reloaded file is rejected",
               lambda: '"config_rejected"' in open(log_path).read(), 15)
    check(status("/readyz")[0] == 200, "presync keeps running after it")
    remapped = good + """      connect_to_teams:
        Lunch: DoNotDisturb/Presenting
        "*": Away/Away
"""
    replace_config(remapped)
    presync.send_signal(signal.SIGHUP)
    wait_until("a valid reload is applied",
               lambda: '"config_applied"' in open(log_path).read(), 15)
    control(cport, "POST", f"agents/{agent[1]}/status", {"status": "Lunch"})
    wait_until("the reloaded map shows Lunch as DoNotDisturb/Presenting",
               lambda: session(1) == "DoNotDisturb/Presenting")

    # What presync serves: every route a client reads, answered with and
    # without a token, is collected for the secret scan at the end.
    served = []
    for path in ("/healthz", "/readyz", "/v1/tenants/e2e/identity/conflicts",
                 "/v1/tenants/e2e/directory?limit=1000",
                 f"/v1/tenants/e2e/people/{graph[1]}",
                 "/v1/tenants/e2e/route?number=%2B15550100001",
                 "/v1/tenants/nope/directory"):
        for token in (API_TOKEN, None, "wrong"):
            served.append(status(path, token)[1])
    check(any("Agent 1" in body for body in served),
          "the directory serves the people it syncs")

    # Metrics.
    _, metrics = call(metrics_port, "GET", "/metrics")
    check('presync_persons{kind="synced",tenant="e2e"} 4' in metrics,
          "presync_persons counts 4 synced persons")
    check('presync_identity_conflicts{tenant="e2e"} 1' in metrics,
          "presync_identity_conflicts is 1")
    check('presync_writes_total{result="ok",side="connect",tenant="e2e"} 2'
          in metrics, "two Connect writes (Meeting, then the restore)")
    check('presync_reconcile_runs_total{reason="start",tenant="e2e"} 1'
          in metrics, "the start's reconciliation is counted")

    # SIGTERM: drain and exit 0.
    presync.send_signal(signal.SIGTERM)
    try:
        rc = presync.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, "SIGTERM exits 0")
    text = open(log_path).read()
    lines = [json.loads(l) for l in text.splitlines() if l.strip()]
    check(all({"ts", "level", "component", "event"} <= set(l) for l in lines),
          "every log line is JSON with ts, level, component, event")
    check(any(l["event"] == "stopped" for l in lines), "the log says stopped")
    for secret in (GRAPH_SECRET, AWS_SECRET, API_TOKEN):
        check(secret not in text and secret not in metrics and
              not any(secret in body for body in served),
              "no secret in the log, the metrics or any API answer")


run_script(main, "run_e2e")
