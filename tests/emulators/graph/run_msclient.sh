#!/bin/sh
# Runs msclient.test.mjs against a fresh emulator on HTTPS: makes a test CA
# and a 127.0.0.1 certificate with openssl, starts the emulator (port 0),
# reads its "listening" line, runs node --test, then stops the emulator.
# Usage: run_msclient.sh PATH/TO/presync-graph-emulator
set -eu

emulator=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=presync-test-ca \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/req.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$work/ext"
openssl x509 -req -days 1 -in "$work/req.csr" -CA "$work/ca.pem" \
  -CAkey "$work/ca.key" -CAcreateserial -extfile "$work/ext" \
  -out "$work/cert.pem" 2>/dev/null

# A fresh secret per run; it reaches the emulator and node by environment.
secret=$(openssl rand -hex 16)
mkfifo "$work/out"
PRESYNC_GRAPH_EMULATOR_CLIENT_SECRET=$secret "$emulator" --users 25 \
  --listen 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
  > "$work/out" &
pid=$!
exec 3< "$work/out"
read -r line <&3
case "$line" in
  "listening "*) ;;
  *) echo "emulator did not start: $line" >&2; exit 1 ;;
esac
address=${line#listening }

GRAPH_EMULATOR_URL="https://$address" GRAPH_EMULATOR_SECRET=$secret \
  NODE_EXTRA_CA_CERTS="$work/ca.pem" \
  node --test "$here/msclient.test.mjs"
