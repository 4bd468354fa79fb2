#!/usr/bin/env bash
# moq_vectors: the moq-lite test vectors of tests/data/moq_vectors.txt (which
# unit.moq checks apps/moq's codec against, both ways) are exactly what the
# @moq/net client's own encoder writes: tests/unit/moq_vectors.mjs encodes
# the same messages with it and the lines must match; and @moq/net's own hex
# decoder reads /certificate.sha256 (wtcast --http) as its own hash of the
# served certificate. Needs node and @moq/net
# (tools/deps --browser installs it; WTCAST_MOQ_NET=DIR points at another
# copy of the package): without them the test is skipped (exit 77).
. "$(dirname "$0")/lib.sh"
wt_init moq_vectors
T=$WT_TMP
SRC=${WTCAST_SRC:-.}
ver=$(sed -n 's/^MOQ_NET_VER=\([^ ]*\).*/\1/p' "$SRC/tools/deps")
PKG=${WTCAST_MOQ_NET:-${XDG_CACHE_HOME:-$HOME/.cache}/wtcast/node-moq-net-$ver/node_modules/@moq/net}
if ! command -v node >/dev/null || [ ! -f "$PKG/lite/announce.js" ]; then
  wt_log "SKIP: node or @moq/net $ver ($PKG) missing; tools/deps --browser installs it"
  exit 77
fi
wt_log "@moq/net: $PKG"
if timeout -k 5 60 node "$SRC/tests/unit/moq_vectors.mjs" "$PKG" >"$T/npm.txt" 2>"$T/npm.err"; then
  wt_pass "the @moq/net encoder ran ($(wc -l <"$T/npm.txt") vectors)"
else
  cat "$T/npm.err" >&2
  wt_failc "node tests/unit/moq_vectors.mjs failed"
fi
grep -v '^#' "$SRC/tests/data/moq_vectors.txt" | sed '/^$/d' >"$T/ours.txt"
if diff "$T/ours.txt" "$T/npm.txt" >"$T/diff.txt"; then
  wt_pass "tests/data/moq_vectors.txt = the @moq/net encoder's bytes"
else
  cat "$T/diff.txt"
  wt_failc "tests/data/moq_vectors.txt differs from the @moq/net encoder (diff above: < ours, > npm)"
fi

# The development pin: what @moq/net makes of /certificate.sha256 (its own hex
# decoder) is its own hash of the served certificate (its certificateHash).
wt_cert
wt_server_start --workers 1 --http 127.0.0.1:0
HTTP_URL=$(sed -n 's/^demo page on \(http:[^ ]*\) .*/\1/p' "$WT_SERVER_OUT" | head -n1)
cat >"$T/pin.mjs" <<'JS'
import { pathToFileURL } from "node:url";
import path from "node:path";
import fs from "node:fs";
const [dir, url, pem] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(path.join(dir, p)).href);
const Hex = await load("util/hex.js");
const { certificateHash } = await load("connection/connect.js");
const got = Buffer.from(Hex.toBytes(await (await fetch(url)).text()));
const want = Buffer.from(await certificateHash(fs.readFileSync(pem, "utf8")));
console.log(`fetched ${got.toString("hex")}, @moq/net's hash of the PEM ${want.toString("hex")}`);
process.exit(got.equals(want) ? 0 : 1);
JS
wt_check "@moq/net pins /certificate.sha256 to the served certificate" \
  timeout -k 5 30 node "$T/pin.mjs" "$PKG" "${HTTP_URL}certificate.sha256" "$WT_CERT"
wt_server_stop 10
wt_done
