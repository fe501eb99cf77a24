#!/usr/bin/env node
// Starts kinesalite (a local Kinesis) on 127.0.0.1 only.
//
// Usage: node emulators/kinesis/kinesalite.js [PORT]   (PORT 0 = any free)
// Prints "listening 127.0.0.1:PORT" as its first stdout line, then serves
// until SIGTERM or SIGINT. Stream changes take effect at once (0 ms).
"use strict";

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
