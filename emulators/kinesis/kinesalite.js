#!/usr/bin/env node
// Starts kinesalite (a local Kinesis) on 127.0.0.1 only, with a control API
// for fault storms in front of it.
//
// Usage: node emulators/kinesis/kinesalite.js [PORT]   (PORT 0 = any free)
// Prints "listening 127.0.0.1:PORT" as its first stdout line, then serves
// until SIGTERM or SIGINT. Stream changes take effect at once (0 ms).
//
// Control API (loopback peers only; JSON bodies; see README.md):
//   GET/POST /_control/knobs   fault knobs, POST takes any subset:
//     operations        Kinesis operations the faults below hit
//                       (default ["GetRecords"]; PutRecords is the Connect
//                       emulator's, so a storm there loses agent events)
//     throughput_rate   fraction answered 400
//                       ProvisionedThroughputExceededException
//     throughput_next   the next N such calls answered that way
//     throttle_rate     fraction answered 400 LimitExceededException
//     expire_next       the next N GetRecords answered 400
//                       ExpiredIteratorException (as after 5 idle minutes)
//     error_rate        fraction answered 500 InternalFailure
//     error_next        the next N such calls answered 500 InternalFailure
//   GET  /_control/counters    {"operations":{Op:n},"injected":{type:n}}
//   GET  /_control/shards?stream=S   the stream's shards (DescribeStream)
//   POST /_control/split  {"stream","shard"}  splits the shard at the middle
//                         of its hash key range
//   POST /_control/merge  {"stream","shard","adjacent"}  merges two shards
//   POST /_control/wait-active {"stream"}  answers once the stream is ACTIVE
// Injected faults act before the operation: nothing happens to the stream.
"use strict";

const http = require("http");
const path = require("path");

let kinesalite;
try {
  kinesalite = require("kinesalite");
} catch (err) {
  // Run from a checkout whose node_modules sits at the repository root.
  kinesalite = require(path.join(__dirname, "..", "..", "node_modules",
                                 "kinesalite"));
}

const arg = process.argv[2] === undefined ? "0" : process.argv[2];
const port = Number(arg);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`kinesalite.js: bad port '${arg}' (0..65535)\n`);
  process.exit(2);
}

const server = kinesalite({createStreamMs: 0, deleteStreamMs: 0,
                           updateStreamMs: 0});

// -- faults --------------------------------------------------------------

const knobs = {
  operations: ["GetRecords"],
  throughput_rate: 0,
  throughput_next: 0,
  throttle_rate: 0,
  expire_next: 0,
  error_rate: 0,
  error_next: 0,
};
const counters = {operations: {}, injected: {}};

function setKnobs(body) {
  const next = Object.assign({}, knobs);
  for (const [key, value] of Object.entries(body)) {
    if (!(key in knobs)) {
      return `unknown knob '${key}'`;
    }
    if (key === "operations") {
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
        return "operations must be a list of operation names";
      }
    } else if (typeof value !== "number" || value < 0 ||
               (key.endsWith("_rate") && value > 1)) {
      return `${key} must be a number${key.endsWith("_rate") ? " in [0, 1]"
                                                              : " >= 0"}`;
    }
    next[key] = value;
  }
  Object.assign(knobs, next);
  return null;
}

// Returns [status, type, message] of the fault for `op`, or null.
function faultFor(op) {
  if (!knobs.operations.includes(op)) {
    return null;
  }
  if (op === "GetRecords" && knobs.expire_next > 0) {
    knobs.expire_next -= 1;
    return [400, "ExpiredIteratorException",
            "Iterator expired (injected by the expire_next knob)."];
  }
  const throughput = [400, "ProvisionedThroughputExceededException",
                      "Rate exceeded for shard (injected)."];
  if (knobs.throughput_next > 0) {
    knobs.throughput_next -= 1;
    return throughput;
  }
  if (knobs.error_next > 0) {
    knobs.error_next -= 1;
    return [500, "InternalFailure", "Injected internal failure."];
  }
  if (Math.random() < knobs.throughput_rate) {
    return throughput;
  }
  if (Math.random() < knobs.throttle_rate) {
    return [400, "LimitExceededException", "Rate exceeded (injected)."];
  }
  if (Math.random() < knobs.error_rate) {
    return [500, "InternalFailure", "Injected internal failure."];
  }
  return null;
}

function send(res, status, body, headers) {
  const text = body === null ? "" : JSON.stringify(body);
  res.writeHead(status, Object.assign({"Content-Type": "application/json",
                                       "Content-Length":
                                         Buffer.byteLength(text)},
                                      headers || {}));
  res.end(text);
}

function readBody(req, done) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const text = Buffer.concat(chunks).toString("utf8");
    if (!text) {
      return done(null, {});
    }
    try {
      const parsed = JSON.parse(text);
      if (parsed === null || typeof parsed !== "object" ||
          Array.isArray(parsed)) {
        return done("the body is not a JSON object");
      }
      return done(null, parsed);
    } catch (e) {
      return done("the body is not JSON");
    }
  });
}

// Calls kinesalite itself, as a client would (it checks that a SigV4
// header is present, not what it says).
function kinesis(op, body, done) {
  const text = JSON.stringify(body);
  const req = http.request({
    host: "127.0.0.1", port: server.address().port, method: "POST", path: "/",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `Kinesis_20131202.${op}`,
      "X-Amz-Date": "20260101T000000Z",
      "Authorization": "AWS4-HMAC-SHA256 Credential=control/20260101/" +
        "us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
      "Content-Length": Buffer.byteLength(text),
    },
  }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => {
      const answer = Buffer.concat(chunks).toString("utf8");
      let parsed = {};
      try {
        parsed = answer ? JSON.parse(answer) : {};
      } catch (e) {
        parsed = {message: answer};
      }
      done(res.statusCode, parsed);
    });
  });
  req.on("error", (e) => done(500, {message: e.message}));
  req.end(text);
}

function describe(stream, done) {
  kinesis("DescribeStream", {StreamName: stream}, done);
}

function control(req, res, route) {
  if (route === "knobs" && req.method === "GET") {
    return send(res, 200, knobs);
  }
  if (route === "counters" && req.method === "GET") {
    return send(res, 200, counters);
  }
  if (route.startsWith("shards") && req.method === "GET") {
    const stream = new URL(req.url, "http://x").searchParams.get("stream");
    return describe(stream || "", (status, body) => send(res, status, body));
  }
  if (req.method !== "POST") {
    return send(res, 404, {error: `no control route ${req.method} ${route}`});
  }
  readBody(req, (err, body) => {
    if (err) {
      return send(res, 400, {error: `${route}: ${err}`});
    }
    if (route === "knobs") {
      const bad = setKnobs(body);
      return bad ? send(res, 400, {error: `knobs: ${bad}`})
                 : send(res, 200, knobs);
    }
    if (route === "split") {
      return describe(body.stream, (status, d) => {
        if (status !== 200) {
          return send(res, status, d);
        }
        const shard = d.StreamDescription.Shards.find(
          (s) => s.ShardId === body.shard);
        if (!shard) {
          return send(res, 404, {error: `split: no shard ${body.shard}`});
        }
        const lo = BigInt(shard.HashKeyRange.StartingHashKey);
        const hi = BigInt(shard.HashKeyRange.EndingHashKey);
        const middle = ((lo + hi) / 2n + 1n).toString();
        kinesis("SplitShard", {StreamName: body.stream,
                               ShardToSplit: body.shard,
                               NewStartingHashKey: middle},
                (s, b) => send(res, s, b));
      });
    }
    if (route === "merge") {
      return kinesis("MergeShards", {StreamName: body.stream,
                                     ShardToMerge: body.shard,
                                     AdjacentShardToMerge: body.adjacent},
                     (s, b) => send(res, s, b));
    }
    if (route === "wait-active") {
      const poll = () => describe(body.stream, (status, d) => {
        if (status !== 200) {
          return send(res, status, d);
        }
        if (d.StreamDescription.StreamStatus === "ACTIVE") {
          return send(res, 200, {status: "ACTIVE"});
        }
        setTimeout(poll, 20);
      });
      return poll();
    }
    return send(res, 404, {error: `no control route POST ${route}`});
  });
}

const kinesisHandler = server.listeners("request")[0];
server.removeAllListeners("request");
server.on("request", (req, res) => {
  if (req.url.startsWith("/_control/")) {
    const peer = req.socket.remoteAddress || "";
    if (!(peer.startsWith("127.") || peer === "::1" ||
          peer.startsWith("::ffff:127."))) {
      return send(res, 403, {error: "loopback peers only"});
    }
    return control(req, res, req.url.slice("/_control/".length));
  }
  const target = req.headers["x-amz-target"] || "";
  const op = target.slice(target.indexOf(".") + 1);
  counters.operations[op] = (counters.operations[op] || 0) + 1;
  const fault = faultFor(op);
  if (fault) {
    const [status, type, message] = fault;
    counters.injected[type] = (counters.injected[type] || 0) + 1;
    // Drain the request so the connection can be kept alive.
    req.resume();
    return req.on("end", () => send(res, status, {__type: type, message},
                                    {"x-amzn-ErrorType": type}));
  }
  return kinesisHandler(req, res);
});

server.on("error", (err) => {
  process.stderr.write(`kinesalite.js: ${err.message}\n`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening 127.0.0.1:${address.port}\n`);
});

function stop() {
  server.close(() => process.exit(0));
  // Open keep-alive connections would hold close() back.
  setTimeout(() => process.exit(0), 500).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
