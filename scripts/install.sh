#!/usr/bin/env bash
# scripts/install.sh - `make install`: put evmon's files at their FHS paths
# under DESTDIR (a package root, or / on a real machine).
#
#   PREFIX/bin/evmon                              the binary (O=build dir)
#   PREFIX/lib/systemd/system/evmon-*.service     units (Type=notify, sandboxed)
#   PREFIX/lib/sysusers.d/evmon.conf              the evmon system user
#   PREFIX/lib/tmpfiles.d/evmon.conf              /etc/evmon, /var/lib/evmon modes
#   PREFIX/share/evmon/profiles/*.yaml            device profiles
#   PREFIX/share/evmon/rules/                     alert rules (config/rules/, if any)
#   PREFIX/share/doc/evmon/examples/*.yaml        example configs
#   PREFIX/share/man/man1/evmon.1, man5/evmon.yaml.5
#   SYSCONFDIR/evmon/evmon.yaml                   the example, only if none is there yet (0640)
#
# Environment: DESTDIR (default empty), PREFIX (/usr), SYSCONFDIR (/etc), O (build).
set -euo pipefail

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SYSCONFDIR=${SYSCONFDIR:-/etc}
O=${O:-build}
R=$DESTDIR$PREFIX

install -Dm755 "$O/evmon" "$R/bin/evmon"
install -d "$R/lib/systemd/system" "$R/lib/sysusers.d" "$R/lib/tmpfiles.d"
install -m644 systemd/*.service "$R/lib/systemd/system/"
install -m644 systemd/sysusers.d/evmon.conf "$R/lib/sysusers.d/evmon.conf"
install -m644 systemd/tmpfiles.d/evmon.conf "$R/lib/tmpfiles.d/evmon.conf"
# Units name /usr/bin/evmon: point them at PREFIX when it is another.
if [ "$PREFIX" != /usr ]; then
    sed -i "s#/usr/bin/evmon#$PREFIX/bin/evmon#g" "$R"/lib/systemd/system/evmon-*.service
fi

install -d "$R/share/evmon/profiles"
install -m644 config/profiles/*.yaml "$R/share/evmon/profiles/"
if [ -d config/rules ] && [ -n "$(ls -A config/rules)" ]; then
    install -d "$R/share/evmon/rules"
    cp -R --no-preserve=ownership config/rules/. "$R/share/evmon/rules/"
    find "$R/share/evmon/rules" -type d -exec chmod 755 {} + -o -type f -exec chmod 644 {} +
fi
install -d "$R/share/doc/evmon/examples"
install -m644 config/examples/*.yaml "$R/share/doc/evmon/examples/"
install -Dm644 docs/man/evmon.1 "$R/share/man/man1/evmon.1"
install -Dm644 docs/man/evmon.yaml.5 "$R/share/man/man5/evmon.yaml.5"

# An operator's config is never overwritten. It may hold secrets: 0640.
install -d -m750 "$DESTDIR$SYSCONFDIR/evmon"
if [ ! -e "$DESTDIR$SYSCONFDIR/evmon/evmon.yaml" ]; then
    install -m640 config/examples/demo-hall.yaml "$DESTDIR$SYSCONFDIR/evmon/evmon.yaml"
fi
echo "installed evmon under ${DESTDIR:-/} (prefix $PREFIX)"
