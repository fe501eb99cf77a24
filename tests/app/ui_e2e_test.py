#!/usr/bin/env python3
"""The directory, dialing and routing API and the status drawer page, end to
end against the emulators, all on 127.0.0.1.

Starts kinesalite, the Connect and Graph emulators and `presync run`, checks
the API over real sockets (directory, search, presence filter, cursors, the
event stream with resume, a person's journal, click-to-dial, the routing
lookup, CORS, auth, bad input), `presync explain`, then drives the page in
headless Chromium (tests/app/ui_browser_test.js): the page lists people, a
presence change in the emulator shows without reload, search narrows the
list, and the call button reaches the Connect emulator with the right
number. A screenshot is kept under the build folder.

Usage: ui_e2e_test.py BIN_DIR KINESALITE_JS ARTEFACT_DIR
Waits poll for a condition with a deadline; nothing sleeps to synchronise.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "support"))
from e2e import (FAILURES, PASSED, check, control, exchange,  # noqa: E402
                 free_port, presync_config, presync_env, run_script, spawn,
                 start_emulators, wait_until)

BIN, KINESALITE, ARTEFACTS = sys.argv[1], sys.argv[2], sys.argv[3]
HERE = os.path.dirname(os.path.abspath(__file__))
GRAPH_SECRET = "graph-secret-5a7e1c"
AWS_SECRET = "aws-secret-0b4c2e"
API_TOKEN = "api-token-6d21f8"
ORIGIN = "http://desk.example.test"
FLOW = "00000000-0000-0000-0000-0000000000d1"
QUEUE = "33333333-3333-4333-8333-333333333334"
# What a poll of the API may meet while presync starts or a list is still
# empty: it means "not yet", not a failure.
NOT_YET = (ConnectionError, urllib.error.URLError, ValueError)


def sse_open(port, path, last_id=None):
    """Opens an event stream on a raw socket; returns (socket, reader)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    extra = f"Last-Event-ID: {last_id}\r\n" if last_id else ""
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {API_TOKEN}\r\n{extra}\r\n").encode())
    return s, s.makefile("rb")


def sse_head(reader):
    status = reader.readline().decode()
    headers = {}
    while True:
        line = reader.readline().decode().strip()
        if not line:
            break
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return int(status.split()[1]), headers


def sse_events(reader, want, seconds=20):
    """Reads chunked SSE frames until `want(events)` holds."""
    events = []
    deadline = time.monotonic() + seconds
    buf = b""
    while time.monotonic() < deadline:
        size = int(reader.readline().strip(), 16)
        chunk = reader.read(size + 2)[:-2]
        if size == 0:
            break
        buf += chunk
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            ev = {"event": "message", "data": "", "id": None, "comment": []}
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    ev["comment"].append(line[1:].strip())
                elif ":" in line:
                    k, v = line.split(":", 1)
                    ev[k] = v[1:] if v.startswith(" ") else v
            events.append(ev)
        if want(events):
            return events
    return events


def main():
    os.makedirs(ARTEFACTS, exist_ok=True)
    work = tempfile.mkdtemp(prefix="presync-ui-e2e-")
    emulators = start_emulators(BIN, KINESALITE, 0, GRAPH_SECRET, AWS_SECRET)
    _, cport, gport = emulators

    # Four desk-phone agents with direct numbers libphonenumber accepts.
    agent = {}
    for n in (1, 2, 3, 4):
        agent[n] = control(cport, "POST", "agents", {
            "username": f"agent{n:04d}@example.com",
            "first_name": "Agent", "last_name": f"Number{n}",
            "phone_type": "DESK_PHONE", "did": f"+1425555020{n}"})["agents"][0]

    # Agents 1-3 have Teams accounts; agent 4 is Connect-only. Olivia is
    # Teams-only with a business phone, Nora Teams-only with none.
    graph = {}
    names = {1: "Ada Agent", 2: "Bo Agent", 3: "Cy Agent"}
    for n in (1, 2, 3):
        upn = f"agent{n:04d}@example.com"
        user = {"displayName": names[n], "mail": upn,
                "userPrincipalName": upn}
        user["businessPhones"] = ["+1 425 555 0101"] if n == 1 else []
        graph[n] = control(gport, "POST", "users", user)["id"]
    olivia = control(gport, "POST", "users", {
        "displayName": "Olivia Office", "mail": "olivia@example.com",
        "userPrincipalName": "olivia@example.com",
        "businessPhones": ["+1 (425) 555-0199"]})["id"]
    nora = control(gport, "POST", "users", {
        "displayName": "Nora Nophone", "mail": "nora@example.com",
        "userPrincipalName": "nora@example.com", "businessPhones": []})["id"]

    mapping = os.path.join(work, "direct-numbers.csv")
    with open(mapping, "w") as f:
        f.write("# the front desk's number, extension 12, rings agent 3\n")
        f.write("+1 425 555 0300,12,agent0003@example.com\n")

    api_port, metrics_port = free_port(), free_port()
    config = os.path.join(work, "presync.yaml")
    with open(config, "w") as f:
        f.write(presync_config(api_port, metrics_port, f"{work}/presync.db",
                               emulators, "e2e", server=f"""
            cors_origins: ["{ORIGIN}"]
        """, connect=f"""
            outbound_contact_flow_id: {FLOW}
            outbound_queue_id: {QUEUE}
            did_mapping_file: {mapping}
            requests_per_second: 10
            burst: 10
            agent_statuses: [Lunch, Break, Training, Meeting, TeamsCall]
        """, sync="""
            min_hold: 1s
            teams_poll_interval: 1s
            directory_interval: 2s
        """))
    env = presync_env(GRAPH_SECRET, AWS_SECRET, API_TOKEN)

    # check-config validates the direct-number file line by line.
    bad_map = os.path.join(work, "bad.csv")
    with open(bad_map, "w") as f:
        f.write("+1 555 777 0000,agent0001@example.com\n5550100,agent2\n")
    bad = os.path.join(work, "bad.yaml")
    with open(bad, "w") as f:
        f.write(open(config).read().replace(mapping, bad_map))
    r = subprocess.run([f"{BIN}/presync", "check-config", bad], env=env,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "did_mapping_file" in r.stdout and
          "line 2" in r.stdout, "check-config names the bad mapping line")

    log_path = os.path.join(work, "presync.log")
    presync = spawn([f"{BIN}/presync", "run", "--config", config], env,
                    log_path)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    def get(path, headers=auth):
        return exchange(api_port, "GET", path, headers=headers)

    wait_until("/readyz answers 200", lambda: get("/readyz")[0] == 200, 60,
               tolerate=NOT_YET)

    def directory(query=""):
        status, text, _ = get("/v1/tenants/e2e/directory" + query)
        return json.loads(text) if status == 200 else None

    # Agent 2's desk phone comes from DescribeUser, read after start.
    def described():
        d = directory("?q=bo%20agent")
        return d and d["people"] and d["people"][0]["dialable"]
    wait_until("Connect phone settings are read after start", described, 60,
               tolerate=NOT_YET)

    d = directory()
    by_name = {p["display_name"]: p for p in d["people"]}
    check(d["total"] == 6 and len(d["people"]) == 6,
          "the directory lists 6 people once each")
    check(by_name["Ada Agent"]["teams"] and by_name["Ada Agent"]["connect"],
          "a person with both sides is one entry")
    check(by_name["Olivia Office"]["connect"] is None and
          by_name["Olivia Office"]["number"] == "+14255550199",
          "a Teams-only person with an E.164 number")
    four = [p for p in d["people"] if p["connect"] and
            p["connect"]["id"] == agent[4]["id"]]
    check(len(four) == 1 and four[0]["teams"] is None and
          four[0]["number"] == agent[4]["did"],
          "a Connect-only agent is listed with its desk phone")
    check(not by_name["Nora Nophone"]["dialable"] and
          by_name["Nora Nophone"]["not_dialable_reason"],
          "a person without a number says why")
    check(by_name["Ada Agent"]["number"] == "+14255550101" and
          by_name["Ada Agent"]["number_source"] == "businessPhones",
          "the Teams number wins over the Connect one")

    page1 = directory("?limit=4")
    page2 = directory("?limit=4&cursor=" +
                      urllib.parse.quote(page1["next_cursor"]))
    ids = [p["id"] for p in page1["people"] + page2["people"]]
    check(len(ids) == 6 and len(set(ids)) == 6 and page2["next_cursor"] is None,
          "two pages by cursor hold everyone once")
    check([p["display_name"] for p in directory("?q=OLIV")["people"]] ==
          ["Olivia Office"], "search by name")
    check([p["display_name"] for p in directory("?q=555-0199")["people"]] ==
          ["Olivia Office"], "search by number")
    check(get("/v1/tenants/e2e/directory?limit=0")[0] == 400,
          "limit=0 is 400")
    status, text, _ = get("/v1/tenants/e2e/directory?presence=happy")
    check(status == 400 and json.loads(text)["field"] == "presence",
          "an unknown presence names the field")

    # The event stream: a presence change arrives, resume replays it.
    stream, reader = sse_open(api_port, "/v1/tenants/e2e/directory/events")
    code, headers = sse_head(reader)
    check(code == 200 and headers.get("content-type") == "text/event-stream",
          "the event stream opens")
    control(gport, "PUT", f"users/{olivia}/teams-client",
            {"availability": "Busy", "activity": "InACall"})
    events = sse_events(reader, lambda evs: any(
        e["event"] == "presence" and json.loads(e["data"])["person"] == olivia
        and json.loads(e["data"])["state"]["presence"] == "busy"
        for e in evs))
    busy = [e for e in events if e["event"] == "presence" and
            json.loads(e["data"])["person"] == olivia]
    check(bool(busy), "a Teams presence change is streamed")
    stream.close()
    if busy:
        first_id = busy[-1]["id"]
        control(gport, "PUT", f"users/{olivia}/teams-client",
                {"availability": "Away", "activity": "Away"})
        wait_until("the directory shows the later change", lambda: directory(
            "?q=olivia")["people"][0]["state"]["presence"] == "away",
            tolerate=NOT_YET)
        stream, reader = sse_open(api_port, "/v1/tenants/e2e/directory/events",
                                  first_id)
        sse_head(reader)
        def away(evs):
            return any(e["event"] == "presence" and
                       json.loads(e["data"])["person"] == olivia and
                       json.loads(e["data"])["state"]["presence"] == "away"
                       for e in evs)
        events = sse_events(reader, away)
        check(away(events), "Last-Event-ID replays what was missed")
        stream.close()
    stream, reader = sse_open(api_port, "/v1/tenants/e2e/directory/events",
                              "deadbeef-1")
    sse_head(reader)
    events = sse_events(reader, lambda evs: any(
        e["event"] == "reset" for e in evs))
    check(any(e["event"] == "reset" for e in events),
          "an unknown Last-Event-ID gets a reset event" +
          ("" if any(e["event"] == "reset" for e in events)
           else f": {events!r}"))
    stream.close()

    # A person: both sides, session, journal.
    control(cport, "POST", f"agents/{agent[1]['id']}/login")
    ada = by_name["Ada Agent"]["id"]

    def journal_has_propagated():
        status, text, _ = get(f"/v1/tenants/e2e/people/{ada}")
        body = json.loads(text)
        return status == 200 and body["sync"]["session"] == \
            "Available/Available" and any(
                e["decision"] == "propagated" for e in body["journal"])
    wait_until("a person's journal shows the propagated login",
               journal_has_propagated, tolerate=NOT_YET)
    check(get("/v1/tenants/e2e/people/nobody")[0] == 404,
          "an unknown person is 404")
    unauth_known = get(f"/v1/tenants/e2e/people/{ada}", {})
    unauth_unknown = get("/v1/tenants/e2e/people/nobody", {})
    check(unauth_known[0] == unauth_unknown[0] == 401 and
          unauth_known[1] == unauth_unknown[1],
          "without a token, a known and an unknown person look the same")

    r = subprocess.run([f"{BIN}/presync", "explain", "--person", ada,
                        "--url", f"http://127.0.0.1:{api_port}"],
                       env=dict(env, PRESYNC_API_TOKEN=API_TOKEN),
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and "Ada Agent" in r.stdout and
          "propagated" in r.stdout and "session" in r.stdout,
          "presync explain prints the person and the journal")
    r = subprocess.run([f"{BIN}/presync", "explain", "--person", "nobody",
                        "--config", config], env=env, capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 1 and "unknown person" in r.stderr,
          "presync explain finds the service from --config")

    # Click-to-dial.
    status, text, _ = exchange(api_port, "POST", "/v1/tenants/e2e/calls", {
        "agent": agent[2]["username"], "person": by_name["Nora Nophone"]["id"]},
        {**auth, "Content-Type": "application/json"})
    check(status == 422 and json.loads(text)["reason"],
          "calling someone without a number is refused with a reason")
    status, text, _ = exchange(api_port, "POST", "/v1/tenants/e2e/calls",
                           raw=b"{not json",
                           headers={**auth, "Content-Type": "application/json"})
    check(status == 400 and json.loads(text)["field"] == "body",
          "a body that is not JSON is 400")
    body = {"agent": agent[2]["username"], "person": olivia,
            "client_token": "e2e-token-1"}
    status, text, _ = exchange(api_port, "POST", "/v1/tenants/e2e/calls", body,
                           {**auth, "Content-Type": "application/json"})
    again = exchange(api_port, "POST", "/v1/tenants/e2e/calls", body,
                 {**auth, "Content-Type": "application/json"})
    calls = control(cport, "GET", "outbound-calls")["calls"]
    mine = [c for c in calls if c["client_token"] == "e2e-token-1"]
    check(status == 201 and mine and mine[0]["destination"] == "+14255550199"
          and mine[0]["contact_flow_id"] == FLOW and
          mine[0]["queue_id"] == QUEUE and
          mine[0]["attributes"].get("presync_target_person") == olivia,
          "a call reaches StartOutboundVoiceContact with flow, queue, target")
    check(again[0] == 201 and json.loads(again[1])["contact_id"] ==
          json.loads(text)["contact_id"],
          "the same client token gives the same contact")

    # Routing: a desk phone, the mapping file's number + extension.
    status, text, _ = get("/v1/tenants/e2e/route?number=" +
                          urllib.parse.quote(agent[2]["did"]))
    check(status == 200 and json.loads(text)["agent"]["id"] ==
          agent[2]["id"], "a desk phone routes to its agent")
    status, text, _ = get("/v1/tenants/e2e/route?number=%2B1%20425%20555%200300"
                          "&ext=12")
    check(status == 200 and json.loads(text)["agent"]["id"] ==
          agent[3]["id"] and json.loads(text)["source"] == "mapping",
          "the mapping file routes a number and extension")
    status, text, _ = get("/v1/tenants/e2e/route?number=%2B14255550300&ext=99")
    check(status == 404 and "extension" in json.loads(text)["reason"],
          "an unknown extension is 404 with the reason")
    status, text, _ = get("/v1/tenants/e2e/route?number=hello")
    check(status == 400 and json.loads(text)["field"] == "number",
          "a number that is no number is 400")

    # CORS for the configured origin only.
    status, _, headers = exchange(api_port, "OPTIONS", "/v1/tenants/e2e/calls",
                              headers={"Origin": ORIGIN,
                                       "Access-Control-Request-Method": "POST"})
    check(status == 204 and headers.get("Access-Control-Allow-Origin") ==
          ORIGIN, "the configured origin passes the preflight")
    status, _, _ = exchange(api_port, "OPTIONS", "/v1/tenants/e2e/calls",
                        headers={"Origin": "http://evil.example",
                                 "Access-Control-Request-Method": "POST"})
    check(status == 403, "another origin is refused")

    # The page in a real browser.
    args = {
        "url": f"http://127.0.0.1:{api_port}/ui/",
        "token": API_TOKEN, "tenant": "e2e", "agent": agent[2]["username"],
        "graph": f"http://127.0.0.1:{gport}", "connect": f"http://127.0.0.1:{cport}",
        "olivia": olivia, "ada_graph": graph[1], "ada": ada,
        "screenshot": os.path.join(ARTEFACTS, "status-drawer.png"),
    }
    r = subprocess.run(["node", os.path.join(HERE, "ui_browser_test.js"),
                        json.dumps(args)], capture_output=True, text=True,
                       timeout=180)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    for line in r.stdout.splitlines():
        if line.startswith("ok   "):
            PASSED.append(line[5:])
        elif line.startswith("FAIL "):
            FAILURES.append(line[5:])
    check(r.returncode == 0, "the browser test passed")

    presync.terminate()
    presync.wait(timeout=20)
    text = open(log_path).read()
    check(API_TOKEN not in text and "+14255550199" not in text,
          "no token and no full phone number in the log")


run_script(main, "ui_e2e")
