// Microsoft's own client libraries against the Graph emulator: msal-node
// gets a client-credentials token, microsoft-graph-client pages users,
// reads and writes presence. Run by run_msclient.sh, which starts the
// emulator on HTTPS and sets GRAPH_EMULATOR_URL, GRAPH_EMULATOR_SECRET and
// NODE_EXTRA_CA_CERTS.
//
// Every request either library makes passes through a guard on fetch that
// records its URL and refuses anything but 127.0.0.1, so nothing leaves
// the machine even when a library reaches for Microsoft's hosts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfidentialClientApplication } from "@azure/msal-node";
import {
  Client,
  PageIterator,
  RetryHandlerOptions,
} from "@microsoft/microsoft-graph-client";

const base = process.env.GRAPH_EMULATOR_URL;
const secret = process.env.GRAPH_EMULATOR_SECRET;
assert.ok(base && secret, "run through run_msclient.sh");
const host = new URL(base).host;
const tenant = "00000000-0000-0000-0000-0000000000a1";
const clientId = "00000000-0000-0000-0000-0000000000b1";
const user1 = "00000000-0000-0000-0000-000000000001";
const scopes = ["https://graph.microsoft.com/.default"];

const seen = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const href = typeof input === "string" ? input : (input.url ?? String(input));
  const url = new URL(href);
  seen.push(`${init?.method ?? input.method ?? "GET"} ${url.href}`);
  if (url.hostname !== "127.0.0.1") {
    throw new Error(`test guard: refused non-loopback request to ${url.origin}`);
  }
  return realFetch(input, init);
};

async function control(method, path, body) {
  const r = await realFetch(`${base}/_control/${path}`, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return r.status === 204 ? null : r.json();
}

function app(extra = {}) {
  return new ConfidentialClientApplication({
    auth: {
      clientId,
      clientSecret: extra.secret ?? secret,
      authority: `${base}/${tenant}`,
      ...(extra.known ? { knownAuthorities: [host] } : {}),
    },
  });
}

async function token() {
  const result = await app({ known: true }).acquireTokenByClientCredential({
    scopes,
  });
  return result.accessToken;
}

function graph(accessToken) {
  return Client.init({
    authProvider: (done) => done(null, accessToken),
    baseUrl: base,
    customHosts: new Set(["127.0.0.1"]),
    defaultVersion: "v1.0",
  });
}

test("msal-node with ordinary settings asks Microsoft's instance discovery", async () => {
  // A recording network client that never touches the network, so this
  // stays on the machine whatever transport msal-node uses internally.
  const asked = [];
  const recorder = {
    async sendGetRequestAsync(url) {
      asked.push(`GET ${url}`);
      throw new Error("recording client: no network");
    },
    async sendPostRequestAsync(url) {
      asked.push(`POST ${url}`);
      throw new Error("recording client: no network");
    },
  };
  const plain = new ConfidentialClientApplication({
    auth: { clientId, clientSecret: secret, authority: `${base}/${tenant}` },
    system: { networkClient: recorder },
  });

  await assert.rejects(
    plain.acquireTokenByClientCredential({ scopes }),
    (e) => /untrusted_authority|endpoints_resolution_error/.test(e.errorCode),
  );

  console.log("msal-node requests without knownAuthorities:", asked);
  assert.deepEqual(asked, [
    "GET https://login.microsoftonline.com/common/discovery/instance?" +
      "api-version=1.1&authorization_endpoint=" +
      `${base}/${tenant}/oauth2/v2.0/authorize`,
  ]);
});

test("msal-node gets a token from the emulator with knownAuthorities", async () => {
  seen.length = 0;

  const result = await app({ known: true }).acquireTokenByClientCredential({
    scopes,
  });

  const requests = [...seen];
  console.log("msal-node requests with knownAuthorities:", requests);
  assert.equal(typeof result.accessToken, "string");
  assert.ok(result.accessToken.length > 10);
  assert.ok(result.expiresOn > new Date());
  assert.equal(requests.length, 2);
  assert.equal(
    requests[0],
    `GET ${base}/${tenant}/v2.0/.well-known/openid-configuration`,
  );
  assert.ok(
    requests[1].startsWith(
      `POST ${base}/${tenant}/oauth2/v2.0/token?client-request-id=`,
    ),
    requests[1],
  );
});

test("msal-node accepts the emulator's own instance discovery document", async () => {
  const doc = await (
    await realFetch(
      `${base}/common/discovery/instance?api-version=1.1&authorization_endpoint=` +
        `${base}/${tenant}/oauth2/v2.0/authorize`,
    )
  ).text();
  seen.length = 0;

  const result = await new ConfidentialClientApplication({
    auth: {
      clientId,
      clientSecret: secret,
      authority: `${base}/${tenant}`,
      cloudDiscoveryMetadata: doc,
    },
  }).acquireTokenByClientCredential({ scopes });

  assert.equal(typeof result.accessToken, "string");
  assert.ok(seen.every((s) => s.includes(`//${host}/`)), seen.join(", "));
});

test("msal-node reports a wrong secret as invalid_client AADSTS7000215", async () => {
  await assert.rejects(
    app({ known: true, secret: "bad-secret-value-123" })
      .acquireTokenByClientCredential({ scopes }),
    (e) =>
      e.errorCode === "invalid_client" &&
      /AADSTS7000215/.test(e.errorMessage) &&
      !e.errorMessage.includes("bad-secret-value-123"),
  );
});

test("graph client pages through every user", async () => {
  const client = graph(await token());
  const ids = [];
  let pages = 0;

  const first = await client.api("/users").select(["id", "accountEnabled"]).top(10).get();
  const it = new PageIterator(client, first, (u) => {
    ids.push(u.id);
    return true;
  });
  await it.iterate();
  for (let r = first; r; ) {
    pages += 1;
    r = r["@odata.nextLink"] ? await client.api(r["@odata.nextLink"]).get() : null;
  }

  assert.equal(ids.length, 28); // 25 licensed + 3 filtered-out accounts
  assert.equal(new Set(ids).size, 28);
  assert.equal(pages, 3);
});

test("graph client reads presence, sets it and reads it back", async () => {
  const client = graph(await token());
  await control("PUT", `users/${user1}/teams-client`, {
    availability: "Available",
    activity: "Available",
  });
  const before = await client.api(`/users/${user1}/presence`).get();

  await client.api(`/users/${user1}/presence/setPresence`).post({
    sessionId: clientId,
    availability: "Busy",
    activity: "InACall",
    expirationDuration: "PT1H",
  });
  const after = await client.api(`/communications/presences/${user1}`).get();
  const many = await client
    .api("/communications/getPresencesByUserId")
    .post({ ids: [user1, "00000000-0000-0000-0000-000000000002"] });
  const writes = await control("GET", "writes");

  assert.equal(before.availability, "Available");
  assert.equal(after.availability, "Busy");
  assert.equal(after.activity, "InACall");
  assert.ok(after.sequenceNumber > before.sequenceNumber);
  assert.equal(many.value.length, 2);
  const w = writes.writes.at(-1);
  assert.equal(w.operation, "setPresence");
  assert.equal(w.userId, user1);
  assert.equal(w.sessionId, clientId);
  assert.equal(w.status, 200);
});

test("graph client sees a 429 from the throttling knob", async () => {
  const client = graph(await token());
  await control("POST", "knobs", { throttleLimit: 1 });
  try {
    await client.api(`/users/${user1}/presence`).get();

    // No retries: the client would otherwise wait out Retry-After.
    const once = client
      .api(`/users/${user1}/presence`)
      .middlewareOptions([new RetryHandlerOptions(0, 0)]);
    await assert.rejects(once.get(), (e) => {
      assert.equal(e.statusCode, 429);
      assert.equal(e.code, "TooManyRequests");
      return true;
    });
  } finally {
    await control("POST", "knobs", { throttleLimit: 0 });
  }
});
