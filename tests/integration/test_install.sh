#!/usr/bin/env bash
# test_install.sh - `make install` (scripts/install.sh) into a temporary
# DESTDIR, and what it installs: the FHS tree; the installed binary runs and
# accepts the installed example config with the installed profiles; both man
# pages render with `man -l` without groff warnings; the systemd units score
# at most 2.0 with `systemd-analyze security --offline=true --root=DESTDIR`
# (no running systemd needed) and carry the settings the daemon relies on;
# systemd-sysusers and systemd-tmpfiles accept their files (--root=DESTDIR)
# and give the config dir and state dirs owner evmon and mode 0750.
. tests/lib/common.sh

EVMON=${EVMON:-build/evmon}
wait_until 1 "$EVMON is built (make all)" test -x "$EVMON"
D=$T/root

check "install into DESTDIR" env DESTDIR="$D" PREFIX=/usr O="$(dirname "$EVMON")" scripts/install.sh

for f in usr/bin/evmon \
    usr/lib/systemd/system/evmon-agent.service usr/lib/systemd/system/evmon-hub.service \
    usr/lib/sysusers.d/evmon.conf usr/lib/tmpfiles.d/evmon.conf \
    usr/share/evmon/profiles/apc-rpdu2.yaml usr/share/doc/evmon/examples/demo-hall.yaml \
    usr/share/man/man1/evmon.1 usr/share/man/man5/evmon.yaml.5 etc/evmon/evmon.yaml; do
    check "installed: /$f" test -f "$D/$f"
done
assert_eq "every profile installed" "$(ls config/profiles/*.yaml | wc -l)" \
    "$(ls "$D"/usr/share/evmon/profiles/*.yaml | wc -l)"
if [ -n "$(ls -A config/rules 2>/dev/null)" ]; then
    check "alert rules installed" test -n "$(ls -A "$D/usr/share/evmon/rules")"
fi
assert_eq "binary mode 0755" 755 "$(stat -c %a "$D/usr/bin/evmon")"
assert_eq "config mode 0640 (it may hold secrets)" 640 "$(stat -c %a "$D/etc/evmon/evmon.yaml")"

# An operator's config survives a second install.
echo "# mine" >>"$D/etc/evmon/evmon.yaml"
env DESTDIR="$D" O="$(dirname "$EVMON")" scripts/install.sh >/dev/null
check "a second install keeps /etc/evmon/evmon.yaml" grep -q "^# mine" "$D/etc/evmon/evmon.yaml"

check "installed evmon runs" "$D/usr/bin/evmon" version
check "installed evmon accepts the installed config with the installed profiles" \
    env EVMON_PROFILES_DIR="$D/usr/share/evmon/profiles" "$D/usr/bin/evmon" check -c "$D/etc/evmon/evmon.yaml"

# ---- man pages ----
for m in man1/evmon.1 man5/evmon.yaml.5; do
    out=$(MANWIDTH=80 man --warnings -l "$D/usr/share/man/$m" 2>"$T/man.err")
    assert_eq "man -l $m: no groff warnings" "" "$(cat "$T/man.err")"
    assert_contains "man -l $m renders a NAME section" "$out" "NAME"
done
out=$(MANWIDTH=80 man -l "$D/usr/share/man/man5/evmon.yaml.5" 2>/dev/null)
assert_contains "evmon.yaml(5) documents *_file secrets" "$out" "_file:"
assert_contains "evmon.yaml(5) documents *_env secrets" "$out" "_env:"

# ---- systemd units ----
for u in evmon-agent evmon-hub; do
    out=$(systemd-analyze security --offline=true --root="$D" "$u.service" 2>&1)
    score=$(printf '%s\n' "$out" | sed -n "s/.*Overall exposure level for $u.service: \([0-9.]*\).*/\1/p")
    check "$u.service: systemd-analyze gives a score" test -n "$score"
    check "$u.service: exposure $score <= 2.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
    unit=$D/usr/lib/systemd/system/$u.service
    for want in Type=notify WatchdogSec= User=evmon StateDirectory= ProtectSystem=strict NoNewPrivileges=yes \
        PrivateTmp=yes 'CapabilityBoundingSet=$' RestrictAddressFamilies= SystemCallFilter=@system-service; do
        check "$u.service sets ${want%$}" grep -q "^$want" "$unit"
    done
done
check "agent unit reloads with SIGHUP after a config check" \
    grep -q '^ExecReload=/bin/kill -HUP $MAINPID' "$D/usr/lib/systemd/system/evmon-agent.service"

check "systemd-sysusers creates user evmon" systemd-sysusers --root="$D"
check "user evmon in DESTDIR/etc/passwd" grep -q "^evmon:" "$D/etc/passwd"
check "systemd-tmpfiles creates the state dirs" systemd-tmpfiles --root="$D" --create
uid=$(awk -F: '$1 == "evmon" {print $3}' "$D/etc/passwd")
for d in var/lib/evmon var/lib/evmon/spool var/lib/evmon-hub; do
    assert_eq "/$d: owner evmon, mode 750" "$uid 750" "$(stat -c '%u %a' "$D/$d")"
done
assert_eq "/etc/evmon: mode 750" 750 "$(stat -c %a "$D/etc/evmon")"

finish
