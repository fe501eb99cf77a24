#!/usr/bin/python3
"""Checks that boto3 (Debian python3-boto3) accepts the Connect emulator.

Starts build/bin/presync-connect-emulator on 127.0.0.1 (port 0), drives it
with a real AWS SDK whose requests the emulator verifies (SigV4), and stops
it again. Usage: boto3_test.py PATH_TO_EMULATOR
"""

import json
import os
import subprocess
import sys
import unittest
import urllib.request
import warnings

warnings.simplefilter("ignore", ResourceWarning)

# botocore must never look for credentials or metadata elsewhere.
for name in list(os.environ):
    if name.startswith("AWS_"):
        del os.environ[name]
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

import boto3  # noqa: E402
import botocore.config  # noqa: E402
import botocore.exceptions  # noqa: E402

INSTANCE = "00000000-0000-0000-0000-0000000000aa"
QUEUE = "33333333-3333-4333-8333-333333333333"
KEY_ID = "AKIDBOTO3TEST"
SECRET = "boto3-test-secret/with+chars"
EMULATOR = None
BASE = None


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def client(secret=SECRET):
    return boto3.client(
        "connect", endpoint_url=BASE, region_name="us-east-1",
        aws_access_key_id=KEY_ID, aws_secret_access_key=secret,
        config=botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": 1}))


def user_data(c, uid):
    # Debian's botocore 1.29 models only the Queues filter.
    data = c.get_current_user_data(InstanceId=INSTANCE,
                                   Filters={"Queues": [QUEUE]})
    mine = [u for u in data["UserDataList"] if u["User"]["Id"] == uid]
    if len(mine) != 1:
        raise AssertionError(f"{uid} not exactly once in {data}")
    return mine[0]


class Boto3AcceptsEmulator(unittest.TestCase):
    def test_list_users_paginator_walks_every_agent(self):
        pages = client().get_paginator("list_users").paginate(
            InstanceId=INSTANCE, PaginationConfig={"PageSize": 3})
        names = [u["Username"] for p in pages for u in p["UserSummaryList"]]
        self.assertEqual(len(names), 7)
        self.assertEqual(names[0], "agent0001@example.com")
        self.assertEqual(names[-1], "agent0007@example.com")

    def test_describe_user_returns_identity_and_phone(self):
        uid = "11111111-1111-4111-8111-000000000002"
        user = client().describe_user(InstanceId=INSTANCE, UserId=uid)["User"]
        self.assertEqual(user["Id"], uid)
        self.assertEqual(user["IdentityInfo"]["Email"],
                         "agent0002@example.com")
        self.assertEqual(user["PhoneConfig"]["PhoneType"], "DESK_PHONE")
        self.assertTrue(user["PhoneConfig"]["DeskPhoneNumber"].startswith("+"))

    def test_list_agent_statuses_filters_by_type(self):
        got = client().list_agent_statuses(
            InstanceId=INSTANCE, AgentStatusTypes=["ROUTABLE", "OFFLINE"])
        names = sorted(s["Name"] for s in got["AgentStatusSummaryList"])
        self.assertEqual(names, ["Available", "Offline"])
        custom = client().list_agent_statuses(
            InstanceId=INSTANCE, AgentStatusTypes=["CUSTOM"])
        self.assertIn("Lunch",
                      [s["Name"] for s in custom["AgentStatusSummaryList"]])

    def test_put_user_status_changes_status_seen_by_current_user_data(self):
        uid = "11111111-1111-4111-8111-000000000003"
        control("POST", f"/_control/agents/{uid}/login")
        c = client()
        statuses = c.list_agent_statuses(InstanceId=INSTANCE)
        lunch = [s for s in statuses["AgentStatusSummaryList"]
                 if s["Name"] == "Lunch"][0]
        c.put_user_status(InstanceId=INSTANCE, UserId=uid,
                          AgentStatusId=lunch["Id"])
        mine = user_data(c, uid)
        # Debian's model predates StatusName; the ARN names the status too.
        self.assertEqual(mine["Status"]["StatusArn"], lunch["Arn"])
        self.assertEqual(control("GET", f"/_control/agents/{uid}")
                         ["status"]["name"], "Lunch")

    def test_current_user_data_shows_contact_and_next_status(self):
        uid = "11111111-1111-4111-8111-000000000004"
        control("POST", f"/_control/agents/{uid}/login")
        cid = control("POST", f"/_control/agents/{uid}/contacts")["contact_id"]
        control("POST", f"/_control/agents/{uid}/contacts/{cid}/connect")
        c = client()
        c.put_user_status(InstanceId=INSTANCE, UserId=uid,
                          AgentStatusId="aaaaaaaa-0000-4000-8000-000000000004")
        raw = []
        c.meta.events.register(
            "after-call.connect.GetCurrentUserData",
            lambda http_response, **kw: raw.append(
                json.loads(http_response.content)))
        user = user_data(c, uid)
        self.assertEqual(user["Contacts"][0]["AgentContactState"],
                         "CONNECTED")
        self.assertEqual(user["Contacts"][0]["ContactId"], cid)
        # Newer members that Debian's botocore 1.29 does not model yet.
        raw_user = [u for u in raw[0]["UserDataList"]
                    if u["User"]["Id"] == uid][0]
        self.assertEqual(raw_user["NextStatus"], "Break")
        self.assertEqual(raw_user["Status"]["StatusName"], "Available")

    def test_start_outbound_voice_contact_is_idempotent(self):
        c = client()
        args = dict(InstanceId=INSTANCE, DestinationPhoneNumber="+15555550100",
                    ContactFlowId="99999999-9999-4999-8999-999999999999",
                    QueueId="33333333-3333-4333-8333-333333333334",
                    Attributes={"origin": "boto3"},
                    ClientToken="boto3-token-1")
        first = c.start_outbound_voice_contact(**args)["ContactId"]
        second = c.start_outbound_voice_contact(**args)["ContactId"]
        self.assertEqual(first, second)
        calls = [x for x in control("GET", "/_control/outbound-calls")["calls"]
                 if x["client_token"] == "boto3-token-1"]
        self.assertEqual(len(calls), 2)
        self.assertEqual(calls[0]["attributes"], {"origin": "boto3"})
        self.assertTrue(calls[1]["replay"])

    def test_wrong_secret_gets_invalid_signature(self):
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            client(secret="not-the-secret").list_users(InstanceId=INSTANCE)
        err = caught.exception.response
        self.assertEqual(err["Error"]["Code"], "InvalidSignatureException")
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 403)

    def test_throttling_surfaces_as_throttling_exception(self):
        control("POST", "/_control/knobs", {"fail_next": 1,
                                            "fail_next_status": 429,
                                            "fail_next_code":
                                            "ThrottlingException"})
        with self.assertRaises(botocore.exceptions.ClientError) as caught:
            client().list_users(InstanceId=INSTANCE)
        self.assertEqual(caught.exception.response["Error"]["Code"],
                         "ThrottlingException")


def main():
    global EMULATOR, BASE
    if len(sys.argv) < 2:
        sys.exit("usage: boto3_test.py PATH_TO_EMULATOR")
    binary = sys.argv.pop(1)
    EMULATOR = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--agents", "7",
         "--access-key-id", KEY_ID, "--secret-access-key", SECRET],
        stdout=subprocess.PIPE, text=True)
    try:
        line = EMULATOR.stdout.readline().strip()
        if not line.startswith("listening 127.0.0.1:"):
            sys.exit(f"emulator did not start: {line!r}")
        BASE = "http://" + line.split(" ", 1)[1]
        result = unittest.main(exit=False, verbosity=2).result
    finally:
        EMULATOR.terminate()
        EMULATOR.wait(timeout=10)
        EMULATOR.stdout.close()
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
