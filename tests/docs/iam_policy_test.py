#!/usr/bin/env python3
"""Checks deploy/iam-policy.json, the least-privilege policy of docs/setup.md.

The policy must grant exactly the AWS operations the adapters build
(adapters/connect/connect_api.hpp and kinesis.hpp, one build_* function per
operation), each on exactly the resources the Service Authorization
Reference requires for it, and nothing on "*" without a condition.

usage: iam_policy_test.py REPO_ROOT
"""

import json
import re
import sys
import unittest
from pathlib import Path

ROOT = Path(sys.argv.pop(1) if len(sys.argv) > 1 else ".").resolve()
POLICY = ROOT / "deploy" / "iam-policy.json"

INSTANCE = "arn:aws:connect:REGION:ACCOUNT_ID:instance/INSTANCE_ID"
STREAM = "arn:aws:kinesis:REGION:ACCOUNT_ID:stream/STREAM_NAME"

# Resource types per action, from the Service Authorization Reference
# (Amazon Connect, Amazon Kinesis Data Streams). GetCurrentUserData also
# lists queue, routing-profile and hierarchy-group, but presync filters by
# Agents only, so the request names agent ARNs alone.
# StartOutboundVoiceContact supports no resource-level permission.
REQUIRED = {
    "connect:ListUsers": {INSTANCE},
    "connect:DescribeUser": {INSTANCE + "/agent/*"},
    "connect:GetCurrentUserData": {INSTANCE + "/agent/*"},
    "connect:ListAgentStatuses": {INSTANCE + "/agent-state/*"},
    "connect:PutUserStatus": {
        INSTANCE,
        INSTANCE + "/agent/*",
        INSTANCE + "/agent-state/*",
    },
    "connect:StartOutboundVoiceContact": {"*"},
    "kinesis:ListShards": {STREAM},
    "kinesis:GetShardIterator": {STREAM},
    "kinesis:GetRecords": {STREAM},
}

ALLOWED_ARN = re.compile(
    r"^(arn:aws:connect:REGION:ACCOUNT_ID:instance/INSTANCE_ID"
    r"(/(agent|agent-state|contact-flow|queue|contact)/\*)?"
    r"|arn:aws:kinesis:REGION:ACCOUNT_ID:stream/STREAM_NAME)$"
)


def camel(snake):
    return "".join(part.capitalize() for part in snake.split("_"))


def operations(header, prefix):
    """Returns prefix:Operation for every build_<operation>( in header."""
    text = (ROOT / header).read_text()
    return {
        prefix + ":" + camel(name)
        for name in re.findall(r"\bbuild_([a-z_]+)\(", text)
    }


def as_list(value):
    return value if isinstance(value, list) else [value]


def load_policy():
    return json.loads(POLICY.read_text())


class IamPolicy(unittest.TestCase):
    def setUp(self):
        self.policy = load_policy()
        self.statements = self.policy["Statement"]

    def test_document_shape(self):
        self.assertEqual(self.policy["Version"], "2012-10-17")
        self.assertEqual(set(self.policy), {"Version", "Statement"})
        self.assertGreater(len(self.statements), 0)
        sids = [s["Sid"] for s in self.statements]
        self.assertEqual(len(sids), len(set(sids)), "duplicate Sid")
        for s in self.statements:
            self.assertEqual(s["Effect"], "Allow", s["Sid"])
            self.assertLessEqual(
                set(s), {"Sid", "Effect", "Action", "Resource", "Condition"},
                s["Sid"])

    def test_actions_are_exactly_what_the_adapters_call(self):
        called = operations("adapters/connect/connect_api.hpp", "connect")
        called |= operations("adapters/connect/kinesis.hpp", "kinesis")
        self.assertEqual(called, set(REQUIRED),
                         "adapters and this test's table disagree")

        granted = set()
        for s in self.statements:
            granted |= set(as_list(s["Action"]))
        self.assertEqual(granted, called)

    def test_no_wildcard_action(self):
        for s in self.statements:
            for action in as_list(s["Action"]):
                self.assertNotIn("*", action, s["Sid"])
                self.assertNotIn("?", action, s["Sid"])

    def test_star_resource_only_with_a_condition(self):
        for s in self.statements:
            if "*" in as_list(s["Resource"]):
                self.assertTrue(s.get("Condition"), s["Sid"])
                self.assertEqual(as_list(s["Resource"]), ["*"], s["Sid"])

    def test_resources_have_known_arn_shapes(self):
        for s in self.statements:
            for resource in as_list(s["Resource"]):
                if resource != "*":
                    self.assertRegex(resource, ALLOWED_ARN, s["Sid"])

    def test_each_action_gets_exactly_its_required_resources(self):
        granted = {}
        for s in self.statements:
            for action in as_list(s["Action"]):
                granted.setdefault(action, set()).update(
                    as_list(s["Resource"]))
        for action, resources in REQUIRED.items():
            self.assertEqual(granted.get(action), resources, action)

    def test_click_to_dial_is_held_to_the_region(self):
        s = next(s for s in self.statements
                 if "connect:StartOutboundVoiceContact" in as_list(s["Action"]))
        self.assertEqual(s["Condition"],
                         {"StringEquals": {"aws:RequestedRegion": "REGION"}})


if __name__ == "__main__":
    unittest.main(verbosity=2)
