#!/usr/bin/env bash
# auth_tokens: wtcast --auth-keys with tokens from both toolchains.
#  1. keys from @moq/token's CLI (moq-token, npm: tools/deps --browser
#     installs it into the cache) and from wtcast-token, HS256, ES256 and EdDSA, in
#     one JWK Set (kid selects the key);
#  2. tokens minted by moq-token are accepted for the granted channels
#     (/pub needs put, /sub needs get), and tokens made by wtcast-token
#     verify with moq-token verify (and the other way with wtcast-token
#     verify): interoperability both ways;
#  3. refused and counted (SIGUSR1 "auth" member, /metrics
#     wtcast_auth_total{result=...}): no token (401), expired (401), unknown
#     kid (401), alg none (401), HS256 "signed" with the EC public key
#     (401), a get-only token on /pub (403), a token for another prefix
#     (403); a bad token in the Authorization field too;
#  4. no squatting or takeover: with a publisher live, an unauthorized /pub
#     gets 401 (refused before any channel state: not 409), and still 401
#     once the publisher left; an authorized one then takes the channel;
#  5. SIGHUP reloads the key file: a removed key's tokens are refused;
#  6. /echo, /source and /sink need a token too (path = the route's name:
#     /echo and /sink need put, /source get);
#  7. an admitted session whose token expires is closed at exp + 60 s of
#     leeway (a token that expired 52 s ago: admitted, echoes for ~8 s,
#     then CLOSE_WEBTRANSPORT_SESSION 0x14 "token expired"), counted in
#     auth.sessions_expired and wtcast_auth_sessions_expired_total.
# Without node or @moq/token, parts 1-2 that need them are skipped and the
# test exits 77 (SKIPPED) after the rest passed: never reported as passed.
. "$(dirname "$0")/lib.sh"
wt_init auth_tokens
T=$WT_TMP
TOK=$WT_BIN/wtcast-token
[ -x "$TOK" ] || { wt_log "FAIL: $TOK is missing (not built yet?)"; exit 1; }
ver=$(sed -n 's/^MOQ_TOKEN_VER=\([^ ]*\).*/\1/p' "${WTCAST_SRC:-.}/tools/deps")
MOQ=${XDG_CACHE_HOME:-$HOME/.cache}/wtcast/node-moq-token-$ver/node_modules/.bin/moq-token
have_moq=0
if command -v node >/dev/null && [ -x "$MOQ" ]; then
  have_moq=1
  wt_log "moq-token: $MOQ (@moq/token $ver)"
else
  wt_log "moq-token not installed ($MOQ; tools/deps --browser installs it): interop parts skipped"
fi
now=$(date +%s)

# ------------------------------------------------------------------ keys
wt_check "wtcast-token generate HS256 (base64url form)" "$TOK" generate --key "$T/wt-hs.jwk" --id whs --base64
wt_check "wtcast-token generate ES256" "$TOK" generate --key "$T/wt-es.jwk" --algorithm ES256 \
  --id wes --public "$T/wt-es.pub"
wt_check "wtcast-token generate EdDSA" "$TOK" generate --key "$T/wt-ed.jwk" --algorithm EdDSA \
  --id wed --public "$T/wt-ed.pub"
wt_check "wtcast-token generate (a key the server does not know)" "$TOK" generate \
  --key "$T/ghost.jwk" --id ghost
wt_check "key files are private (mode 0600)" test "$(stat -c %a "$T/wt-hs.jwk")" = 600
files=("$T/wt-hs.jwk" "$T/wt-es.pub" "$T/wt-ed.pub")
if [ "$have_moq" = 1 ]; then
  wt_check "moq-token generate HS256" node "$MOQ" generate --key "$T/moq-hs.jwk" --algorithm HS256 --id mhs
  wt_check "moq-token generate ES256" node "$MOQ" generate --key "$T/moq-es.jwk" --algorithm ES256 \
    --id mes --public "$T/moq-es.pub"
  wt_check "moq-token generate EdDSA" node "$MOQ" generate --key "$T/moq-ed.jwk" --algorithm EdDSA \
    --id med --public "$T/moq-ed.pub"
  files+=("$T/moq-hs.jwk" "$T/moq-es.pub" "$T/moq-ed.pub")
fi
# One JWK Set (JSON) from key files (JSON, or base64url of it).
mkset() { # OUT FILES...
  python3 - "$@" <<'PY'
import base64, json, sys
keys = []
for f in sys.argv[2:]:
    t = open(f).read().strip()
    keys.append(json.loads(t if t.startswith("{") else base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))))
json.dump({"keys": keys}, open(sys.argv[1], "w"))
PY
}
mkset "$T/keys.json" "${files[@]}"
wt_cert
wt_server_start --auth-keys "$T/keys.json" --metrics 127.0.0.1:0 --log-level info

# ------------------------------------------------------------------ helpers
# try NAME EXPECTED_STATUS PATH?QUERY [client args]: one session, its status.
try() {
  local name=$1 want=$2 path=$3
  shift 3
  wt_client "$T/$name.json" "$WT_URL$path" --timeout 10000 "$@"
  local st
  st=$(wt_jget "$T/$name.json" connections.0.sessions.0.status)
  if [ "$st" = "$want" ]; then
    wt_pass "$name: status $st"
  else
    wt_failc "$name: status $st, expected $want"
  fi
}
sign() { "$TOK" sign "$@" 2>>"$T/sign.err"; }
craft() { # KIND KID: a token that must never pass
  python3 - "$1" "$2" "$T/wt-es.pub" "$now" <<'PY'
import base64, hashlib, hmac, json, sys
kind, kid, pub, now = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
pay = b(json.dumps({"root": "live", "put": "", "get": "", "exp": now + 3600}).encode())
if kind == "none":
    print(b(json.dumps({"alg": "none", "kid": kid}).encode()) + "." + pay + ".")
else:  # HS256 with the EC public key file as the HMAC secret
    h = b(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode()) + "." + pay
    secret = open(pub, "rb").read().strip()
    print(h + "." + b(hmac.new(secret, h.encode(), hashlib.sha256).digest()))
PY
}

# ------------------------------------------------------------------ accepted
t_pub=$(sign --key "$T/wt-hs.jwk" --root live --publish cam --ttl 3600)
t_sub=$(sign --key "$T/wt-es.jwk" --root live --subscribe "" --ttl 3600)
try wt_hs_pub 200 "/pub?ch=live/cam&jwt=$t_pub"
try wt_es_sub 200 "/sub?ch=live/cam&jwt=$t_sub"
try wt_es_sub_deeper 200 "/sub?ch=live/any/thing&jwt=$t_sub"
t_ed=$(sign --key "$T/wt-ed.jwk" --root ed --publish cam --ttl 3600)
try wt_ed_pub 200 "/pub?ch=ed/cam&jwt=$t_ed"
try wt_ed_sub 403 "/sub?ch=ed/cam&jwt=$t_ed"
if [ "$have_moq" = 1 ]; then
  m_hs=$(node "$MOQ" sign --key "$T/moq-hs.jwk" --root live --publish cam --subscribe "" \
    --expires $((now + 3600)) 2>>"$T/sign.err")
  m_es=$(node "$MOQ" sign --key "$T/moq-es.jwk" --root es --publish room 2>>"$T/sign.err")
  m_ed=$(node "$MOQ" sign --key "$T/moq-ed.jwk" --root med --subscribe "" 2>>"$T/sign.err")
  wt_check "moq-token signed three tokens" test -n "$m_hs" -a -n "$m_es" -a -n "$m_ed"
  try moq_hs_pub 200 "/pub?ch=live/cam&jwt=$m_hs"
  try moq_hs_sub 200 "/sub?ch=live/other&jwt=$m_hs"
  try moq_es_pub 200 "/pub?ch=es/room/1&jwt=$m_es"
  try moq_es_pub_other 403 "/pub?ch=es/roomba&jwt=$m_es"
  try moq_es_sub 403 "/sub?ch=es/room&jwt=$m_es"
  try moq_ed_sub 200 "/sub?ch=med/any&jwt=$m_ed"
  try moq_ed_pub 403 "/pub?ch=med/any&jwt=$m_ed"
  # the other way: wtcast-token's tokens and keys in moq-token verify
  wt_check "moq-token verify accepts a wtcast-token HS256 token" \
    bash -c "node '$MOQ' verify --key '$T/wt-hs.jwk' --root live <<<'$t_pub' >'$T/mv1.out' 2>&1"
  wt_check "moq-token verify accepts a wtcast-token ES256 token (public key)" \
    bash -c "node '$MOQ' verify --key '$T/wt-es.pub' --root live <<<'$t_sub' >'$T/mv2.out' 2>&1"
  wt_check "moq-token verify accepts a wtcast-token EdDSA token (public key)" \
    bash -c "node '$MOQ' verify --key '$T/wt-ed.pub' --root ed <<<'$t_ed' >'$T/mv3.out' 2>&1"
  wt_check "wtcast-token verify accepts a moq-token EdDSA token and its grant" \
    bash -c "'$TOK' verify --key '$T/moq-ed.pub' --subscribe med/x <<<'$m_ed' >'$T/wv2.out'"
  wt_check "moq-token verify refuses a wtcast-token token under the wrong key" \
    bash -c "! node '$MOQ' verify --key '$T/moq-hs.jwk' --root live <<<'$t_pub' >/dev/null 2>&1"
  wt_check "wtcast-token verify accepts a moq-token ES256 token and its grant" \
    bash -c "'$TOK' verify --key '$T/moq-es.pub' --publish es/room <<<'$m_es' >'$T/wv.out'"
  wt_check "wtcast-token verify refuses a path the moq-token token does not grant" \
    bash -c "! '$TOK' verify --key '$T/moq-es.pub' --publish es/other <<<'$m_es' 2>/dev/null"
  for f in mv1 mv2; do sed 's/^/    /' "$T/$f.out" | head -n 12; done
fi

# ------------------------------------------------------------------ refused
t_old=$(sign --key "$T/wt-hs.jwk" --root live --publish "" --expires $((now - 3600)))
t_ghost=$(sign --key "$T/ghost.jwk" --root live --publish "")
t_getonly=$(sign --key "$T/wt-hs.jwk" --root live --subscribe "")
t_other=$(sign --key "$T/wt-hs.jwk" --root other --publish "")
try no_token 401 "/pub?ch=live/cam"
try no_token_sub 401 "/sub?ch=live/cam"
try expired 401 "/pub?ch=live/cam&jwt=$t_old"
try unknown_kid 401 "/pub?ch=live/cam&jwt=$t_ghost"
try alg_none 401 "/pub?ch=live/cam&jwt=$(craft none whs)"
try hs256_with_ec_public_key 401 "/pub?ch=live/cam&jwt=$(craft confuse wes)"
try get_only_on_pub 403 "/pub?ch=live/cam&jwt=$t_getonly"
try other_prefix 403 "/pub?ch=live/cam&jwt=$t_other"
try garbage 401 "/sub?ch=live/cam&jwt=not.a.token"

# ------------------------------------------------------------------ the other routes
t_tools=$(sign --key "$T/wt-hs.jwk" --publish echo --publish sink --subscribe source --ttl 3600)
try echo_no_token 401 "/echo"
try source_token 200 "/source?bytes=10&jwt=$t_tools" # /echo with a token: the expiry below
# the moq-lite relay: /moq/ROOT is ROOT in the tokens' namespace (live/cam
# is broadcast "cam" under /moq/live); a valid token for the root or below
# is admitted (its rights are checked per ANNOUNCE / SUBSCRIBE: unit.moq_app)
try moq_no_token 401 "/moq/live" --protocols moq-lite-04
try moq_forged 401 "/moq/live?jwt=$(craft none whs)" --protocols moq-lite-04
try moq_publish_token 200 "/moq/live?jwt=$t_pub" --protocols moq-lite-04
if [ "$have_moq" = 1 ]; then
  try moq_moq_token 200 "/moq/live?jwt=$m_hs" --protocols moq-lite-04
fi

# ------------------------------------------------------------------ expiry (start)
# exp 52 s ago: still valid for 8 s (60 s of leeway), then the session goes
# (while the squatting checks run)
t0=$(date +%s)
t_soon=$(sign --key "$T/wt-hs.jwk" --publish echo --expires $((t0 - 52)))
wt_log "echo session on a token valid for ~8 more seconds (background)"
"$WT_BIN/wtcast-client" "$WT_URL/echo?jwt=$t_soon" --cert-hash "$WT_HASH" --echo hi --hold 20000 \
  --timeout 40000 >"$T/expiring.json" 2>"$T/expiring.err" &
exp_pid=$!
WT_BG_PIDS+=("$exp_pid")

# ------------------------------------------------------------------ squatting
wt_log "publisher holds live/cam (background)"
hold=15000
if wt_sanitized; then hold=22000; fi # three sessions under ASan/TSan take ~15 s
"$WT_BIN/wtcast-client" "$WT_URL/pub?ch=live/cam&jwt=$t_pub" --cert-hash "$WT_HASH" --hold $hold \
  --timeout 60000 >"$T/holder.json" 2>"$T/holder.err" &
holder=$!
WT_BG_PIDS+=("$holder")
holder_live() {
  wt_server_stats "$T/h.json" &&
    wt_jtest "$T/h.json" "any(c['name'] == 'live/cam' and c['publisher'] == 1 for c in d['relay']['channels'])"
}
wt_check "the holder publishes on live/cam (relay counters)" wt_wait_until 30 holder_live
try squat_while_live 401 "/pub?ch=live/cam"
try squat_with_get_only_token 403 "/pub?ch=live/cam&jwt=$t_getonly"
try second_authorized_publisher 409 "/pub?ch=live/cam&jwt=$t_pub"
wt_check "the holder was publishing all along" kill -0 "$holder"
# it closes its session itself after --hold (a killed client would leave
# the session to the idle timeout)
wt_wait_until 40 wt_pid_gone "$holder"
wait "$holder" 2>/dev/null
holder_gone() {
  wt_server_stats "$T/h.json" &&
    wt_jtest "$T/h.json" "not any(c['name'] == 'live/cam' and c['publisher'] == 1 for c in d['relay']['channels'])"
}
wt_check "the holder left live/cam" wt_wait_until 30 holder_gone

try takeover_after_leave 401 "/pub?ch=live/cam"
try takeover_with_get_only_token 403 "/pub?ch=live/cam&jwt=$t_getonly"
try authorized_takes_over 200 "/pub?ch=live/cam&jwt=$t_pub"

# ------------------------------------------------------------------ expiry (end)
wt_wait_until 40 wt_pid_gone "$exp_pid"
wait "$exp_pid" 2>/dev/null
wt_jcheck "expiring token: admitted and echoed, then closed by the server (0x14, token expired)" \
  "$T/expiring.json" \
  "s0['status'] == 200 and ops['echo']['verified'] and s0.get('closed_by_server', {}).get('code') == 20 and s0['closed_by_server'].get('reason') == 'token expired'"
wt_log "    expiring token: connection closed after $(wt_jget "$T/expiring.json" connections.0.conn_closed.after_ms) ms"
wt_jcheck "expiring token: closed after its ~8 s, well before --hold (20 s) ran out" "$T/expiring.json" \
  "1000 < d['connections'][0]['conn_closed']['after_ms'] < 15000"
wt_check "expiring token: the close is logged" grep -q 'closed: token expired (code 0x14)' "$WT_SERVER_ERR"

# ------------------------------------------------------------------ counted
wt_server_stats "$T/stats.json" || wt_failc "no SIGUSR1 line"
wt_log "    auth: $(wt_jget "$T/stats.json" auth)"
wt_jcheck "SIGUSR1: refusals counted by result" "$T/stats.json" \
  "d['auth']['missing'] >= 4 and d['auth']['expired'] >= 1 and d['auth']['unknown_kid'] >= 1 and d['auth']['bad_alg'] >= 2 and d['auth']['forbidden'] >= 3 and d['auth']['malformed'] >= 1 and d['auth']['ok'] >= 4 and d['auth']['sessions_expired'] == 1"
wt_jcheck "SIGUSR1: moq sessions refused for their token counted" "$T/stats.json" \
  "d['apps']['moq_forbidden'] == 2 and d['apps']['moq_refused'] == 2"
mport=$(sed -n 's/^metrics on http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$WT_SERVER_OUT")
python3 - "$mport" >"$T/metrics.txt" <<'PY' || wt_failc "/metrics unreachable"
import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode())
PY
wt_check "/metrics: wtcast_auth_total by result (9 series)" \
  test "$(grep -c '^wtcast_auth_total{result=' "$T/metrics.txt")" = 9
wt_check "/metrics: the expired session counted" grep -q '^wtcast_auth_sessions_expired_total 1$' "$T/metrics.txt"
wt_check "/metrics: bad_alg counted" grep -qE '^wtcast_auth_total\{result="bad_alg"\} [1-9]' "$T/metrics.txt"
wt_check "a refusal is logged without the token" bash -c \
  "grep -q 'refused publish live/cam (expired)' '$WT_SERVER_ERR' && ! grep -qF '$t_old' '$WT_SERVER_ERR'"

# ------------------------------------------------------------------ reload
mkset "$T/keys.json" "$T/wt-es.pub" # whs removed
kill -HUP "$WT_SERVER_PID"
wt_wait_until 5 grep -q 'reloaded 1 key' "$WT_SERVER_ERR"
try removed_key 401 "/pub?ch=live/cam&jwt=$t_pub"
try kept_key 200 "/sub?ch=live/cam&jwt=$t_sub"
echo '{"keys":[' >"$T/keys.json"
kill -HUP "$WT_SERVER_PID"
wt_wait_until 5 grep -q 'reload failed' "$WT_SERVER_ERR"
try bad_file_keeps_keys 200 "/sub?ch=live/cam&jwt=$t_sub"

wt_server_stop
wt_expect_rc "server exits cleanly" 0 "$WT_SERVER_RC"
wt_check "wtcast refuses a bad --auth-keys file at start" bash -c \
  "! '$WT_BIN/wtcast' --listen 127.0.0.1:0 --cert '$WT_CERT' --key '$WT_KEY' --auth-keys '$T/keys.json' 2>'$T/bad.err'"
sed 's/^/    /' "$T/bad.err"
if [ "$have_moq" = 0 ] && [ "$wt_fail" = 0 ]; then
  wt_log "$wt_pass passed; SKIPPED: the @moq/token interop checks (moq-token not installed)"
  exit 77
fi
wt_done
