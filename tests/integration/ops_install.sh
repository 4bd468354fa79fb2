#!/usr/bin/env bash
# ops_install: cmake --install puts the programs, the example configuration,
# the man page, the systemd unit and its sysusers.d entry in place; the
# installed wtcast validates the installed example; the unit is Type=notify
# with a reload and hardening; the man page formats without warnings.
. "$(dirname "$0")/lib.sh"
wt_init ops_install
T=$WT_TMP
R=$T/root
if [ -z "${WTCAST_BUILD:-}" ]; then
  wt_log "FAIL: WTCAST_BUILD is not set (run through ctest)"
  exit 1
fi
cmake --install "$WTCAST_BUILD" --prefix "$R" >"$T/install.log" 2>&1
wt_expect_rc "cmake --install" 0 $?
for f in bin/wtcast bin/wtcast-cert bin/wtcast-client bin/wtcast-token etc/wtcast/wtcast.conf.example \
  share/man/man1/wtcast.1 lib/systemd/system/wtcast.service lib/sysusers.d/wtcast.conf; do
  wt_check "installed $f" test -s "$R/$f"
done
"$R/bin/wtcast" --check-config "$R/etc/wtcast/wtcast.conf.example" >"$T/check.out" 2>&1
wt_expect_rc "installed wtcast --check-config on the installed example" 0 $?
U=$R/lib/systemd/system/wtcast.service
for d in '^Type=notify$' '^ExecReload=/bin/kill -HUP \$MAINPID$' '^ExecStart=/.*/wtcast --config /.*/wtcast.conf$' \
  '^NoNewPrivileges=yes$' '^ProtectSystem=strict$' '^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$' \
  '^User=wtcast$' '^SystemCallFilter=@system-service$'; do
  wt_check "unit: $d" grep -qE "$d" "$U"
done
wt_check "unit: every @...@ filled in" sh -c "! grep -q '@' '$U' || ! grep -qE '@[A-Z_]+@' '$U'"
if command -v groff >/dev/null; then
  if groff -man -Tutf8 -ww -z "$R/share/man/man1/wtcast.1" 2>"$T/groff.err" && [ ! -s "$T/groff.err" ]; then
    wt_pass "man page formats without warnings"
  else
    wt_failc "man page: $(head -3 "$T/groff.err")"
  fi
fi
wt_done
