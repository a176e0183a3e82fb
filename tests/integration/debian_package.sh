#!/bin/bash
# debian_package: the Debian package built from this tree, installed, used and removed as an
# admin would. dpkg-buildpackage -us -uc -b builds it from a copy of the tree; lintian finds
# nothing at warning level; dpkg -i creates the service user, its groups and directories with
# their owners and modes, installs the unit, the man pages and the example configuration as a
# conffile. Then the admin's path: a configuration in /etc/autosmime, the CA made and a
# certificate issued by the packaged autosmimectl as the service user, the daemon started with
# the unit's own command line as that user, a message signed through the socket in Postfix's
# chroot. An upgrade keeps the store and the configuration (and the daemon signs after it),
# remove keeps them, purge removes them and leaves a 0600 copy in /var/backups.
# Service starts are held off with policy-rc.d for the test. Skips where the package is
# already installed or /etc/autosmime or /var/lib/autosmime exist: nobody's data is touched.
set -u
b=$top_builddir
src=$top_srcdir
send=$b/tests/tools/milter-send
# shellcheck source=../harness/common.sh
. "$src/tests/harness/common.sh"
check() { # DESC EXPR: EXPR is eval'd; a failure shows the last lines the programs logged
	eval "$2"
	tap_ok $? "$1"
	[ "$_tap_failed" = "${_seen_failed:-0}" ] && return 0
	_seen_failed=$_tap_failed
	[ -f "$tmp/log" ] && tail -5 "$tmp/log" | sed 's/^/#   /'
	return 0
}

[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (installs the package)"; exit 0; }
# The host's service user is shared by tests/milter/systemd_unit.sh (which creates it when
# missing) and tests/integration/debian_package.sh (whose package creates it): under a parallel
# make check the two would see each other's user, so one of them at a time holds this lock.
exec 9> /tmp/autosmime-test-service-user.lock
flock -w 900 9 || { echo "1..1"; echo "not ok 1 - the service user lock was not free within 900 s"; exit 1; }
for c in dpkg-buildpackage dh lintian fakeroot setpriv openssl systemd-analyze tar; do
	command -v "$c" >/dev/null || { echo "1..0 # SKIP $c is not installed"; exit 0; }
done
if dpkg-query -W -f '${Status}' autosmime 2>/dev/null | grep -q 'installed\|config-files'; then
	echo "1..0 # SKIP the autosmime package is installed on this machine"; exit 0
fi
for d in /etc/autosmime /var/lib/autosmime /var/spool/postfix/autosmime /run/autosmime; do
	[ -e "$d" ] && { echo "1..0 # SKIP $d exists: not touching it"; exit 0; }
done
[ -x "$send" ] || { echo "1..1"; echo "not ok 1 - $send is not built"; exit 1; }

tmp=$(mktemp -d /tmp/autosmime-deb.XXXXXX) || exit 1
chmod 0755 "$tmp"
pid= installed= made_policy= user_before=
id autosmime >/dev/null 2>&1 && user_before=1
backups_before=$(ls /var/backups/autosmime-*.tar 2>/dev/null)
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$installed" ] && dpkg -P autosmime >/dev/null 2>&1
	for f in /var/backups/autosmime-*.tar; do
		[ -f "$f" ] && ! printf '%s\n' "$backups_before" | grep -qx "$f" && rm -f "$f"
	done
	if [ -z "$user_before" ] && id autosmime >/dev/null 2>&1; then
		userdel autosmime >/dev/null 2>&1
		groupdel autosmime >/dev/null 2>&1
	fi
	[ -n "$made_policy" ] && rm -f /usr/sbin/policy-rc.d
	rm -rf "$tmp"
}
trap cleanup EXIT
# Services are not started while the test installs (the standard Debian switch).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d &&
		made_policy=1
fi

# --- build and check the package
mkdir "$tmp/src"
tar -C "$src" --exclude='./_build*' --exclude=./.git --exclude=./autom4te.cache \
	--exclude=./config.status --exclude=./config.log -cf - . | tar -C "$tmp/src" -xf -
(cd "$tmp/src" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
	>"$tmp/build.log" 2>&1
check "dpkg-buildpackage -us -uc -b builds the package" '[ $? = 0 ] || { tail -5 "$tmp/build.log"; false; }'
deb=$(ls "$tmp"/autosmime_*_*.deb 2>/dev/null | head -n 1)
[ -f "$deb" ] || { tap_done; exit 1; }
lintian --fail-on warning "$deb" >"$tmp/lintian" 2>&1
check "lintian finds nothing at warning level" \
	'[ $? = 0 ] || { grep -v "^N:" "$tmp/lintian" | sed "s/^/#   /"; false; }'
grep -v '^running with root' "$tmp/lintian" | sed 's/^/# lintian: /'

# --- install
dpkg -i "$deb" >"$tmp/install.log" 2>&1
check "dpkg -i installs it" '[ $? = 0 ] || { tail -5 "$tmp/install.log"; false; }'
installed=1
check "the service user autosmime is a system user without a login shell" \
	'u=$(getent passwd autosmime) && [ "$(echo "$u" | cut -d: -f3)" -lt 1000 ] &&
	 case $(echo "$u" | cut -d: -f7) in */nologin|*/false) true;; *) false;; esac &&
	 [ "$(echo "$u" | cut -d: -f6)" = /var/lib/autosmime ]'
check "/var/lib/autosmime belongs to autosmime, mode 0755" \
	'[ "$(stat -c "%U:%G %a" /var/lib/autosmime)" = "autosmime:autosmime 755" ]'
check "/etc/autosmime is root:autosmime 0750" \
	'[ "$(stat -c "%U:%G %a" /etc/autosmime)" = "root:autosmime 750" ]'
check "the example configuration is a conffile" \
	'dpkg-query -W -f "\${Conffiles}" autosmime | grep -q "/etc/autosmime/autosmime.conf.example "'
unit=/lib/systemd/system/autosmime-milter.service
check "the unit is installed and names the packaged daemon" \
	'[ -f "$unit" ] && grep -q "^ExecStart=/usr/sbin/autosmime-milter " "$unit"'
systemd-analyze verify --man=no "$unit" >"$tmp/verify" 2>&1
check "systemd-analyze verify finds nothing to say about it" \
	'[ ! -s "$tmp/verify" ] || { sed "s/^/#   /" "$tmp/verify"; false; }'
for t in autosmime-crl autosmime-audit-checkpoint; do
	check "$t.timer and its service are installed, and the timer is enabled" \
		'[ -f "/lib/systemd/system/$t.timer" ] && grep -q "^ExecStart=/usr/sbin/autosmimectl " "/lib/systemd/system/$t.service" &&
		 [ -L "/etc/systemd/system/timers.target.wants/$t.timer" ]'
done
check "the man pages are installed" \
	'[ -f /usr/share/man/man8/autosmime-milter.8.gz ] && [ -f /usr/share/man/man8/autosmimectl.8.gz ] &&
	 [ -f /usr/share/man/man5/autosmime.conf.5.gz ]'
check "autosmimectl reads /etc/autosmime/autosmime.conf by default" \
	'/usr/sbin/autosmimectl 2>&1 | grep -q "default /etc/autosmime/autosmime.conf"'
for g in postdrop smmsp; do
	getent group "$g" >/dev/null &&
		check "autosmime is in group $g (sendmail(1) under the unit)" 'id -nG autosmime | tr " " "\n" | grep -qx "$g"'
done
if id postfix >/dev/null 2>&1; then
	check "postfix is in group autosmime (it reaches the socket)" \
		'id -nG postfix | tr " " "\n" | grep -qx autosmime'
fi
sockdir=/run/autosmime
if [ -d /var/spool/postfix ]; then
	sockdir=/var/spool/postfix/autosmime
	check "the socket directory in Postfix's chroot is autosmime 0750" \
		'[ "$(stat -c "%U:%G %a" "$sockdir")" = "autosmime:autosmime 750" ]'
fi

# --- the admin's path: configuration, key files, CA, a certificate, the daemon
install -d -o autosmime -g autosmime -m 0750 /run/autosmime   # RuntimeDirectory=
cat > /etc/autosmime/autosmime.conf <<CONF
local_domains example.org
ca_base_url http://ca.example.org/autosmime
organization_name "Example Org"
organization_identifier NTRGB-12345678
organization_country GB
socket unix:$sockdir/autosmime.sock
CONF
for f in kek ca.pass; do
	(umask 077 && openssl rand -hex 32 > "/etc/autosmime/$f")
	chown autosmime:autosmime "/etc/autosmime/$f"
done
chgrp autosmime /etc/autosmime/autosmime.conf
chmod 0640 /etc/autosmime/autosmime.conf
install -d -o autosmime -m 0700 "$tmp/admin"
as_svc() { runuser -u autosmime -- "$@"; }
as_svc /usr/sbin/autosmime-milter -n >"$tmp/log" 2>&1
check "autosmime-milter -n accepts the configuration as the service user" '[ $? = 0 ]'
as_svc /usr/sbin/autosmimectl ca init --root-cert "$tmp/admin/root.pem" \
	--root-key "$tmp/admin/root.key" >>"$tmp/log" 2>&1
check "autosmimectl ca init as the service user" '[ $? = 0 ] && [ -s "$tmp/admin/root.pem" ]'
as_svc /usr/sbin/autosmimectl issue alice@example.org >>"$tmp/log" 2>&1
check "autosmimectl issue alice@example.org" '[ $? = 0 ]'
check "the store is autosmime's, 0700" \
	'[ "$(stat -c "%U %a" /var/lib/autosmime/store)" = "autosmime 700" ]'

exec_start=$(sed -n 's/^ExecStart=//p' "$unit" | tail -n 1)
start() { # the unit's command line, User= and Group= with their groups, no new privileges
	# shellcheck disable=SC2086
	( exec setpriv --reuid=autosmime --regid=autosmime --init-groups --no-new-privs \
		$exec_start ) 2>>"$tmp/log" &
	pid=$!
	for i in $(seq 200); do [ -S "$sockdir/autosmime.sock" ] && return 0; sleep 0.1; done
	return 1
}
stop() {
	kill -TERM "$pid"
	for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null; pid=
}
printf 'From: Alice <alice@example.org>\r\nTo: <x@elsewhere.example>\r\nSubject: packaged\r\n\r\nsigned by the package\r\n' > "$tmp/msg.eml"
sign() { # OUT: a message through the daemon's socket, verified against the CA's root
	rm -f "$1"
	"$send" -S "unix:$sockdir/autosmime.sock" -f alice@example.org -c 192.0.2.10 -a alice \
		-r x@elsewhere.example -o "$1" "$tmp/msg.eml" 2>>"$tmp/log" &&
	openssl cms -verify -in "$1" -CAfile "$tmp/admin/root.pem" -purpose any -out /dev/null 2>/dev/null
}
start
check "the packaged daemon starts with the unit's command line as autosmime" \
	'[ -n "$pid" ] && kill -0 "$pid" && [ "$(ps -o user= -p "$pid")" = autosmime ]'
check "mail is signed through the socket and verifies" 'sign "$tmp/out1.eml"'
stop

# --- upgrade: the same package under a newer version, as a new release would be
dpkg-deb -R "$deb" "$tmp/next"
sed -i 's/^Version: \(.*\)$/Version: \1+next1/' "$tmp/next/DEBIAN/control"
dpkg-deb -b "$tmp/next" "$tmp/next.deb" >/dev/null 2>&1
sum_before=$(md5sum /etc/autosmime/autosmime.conf /etc/autosmime/kek | md5sum)
dpkg -i "$tmp/next.deb" >"$tmp/upgrade.log" 2>&1
check "the upgrade installs" '[ $? = 0 ] || { tail -5 "$tmp/upgrade.log"; false; }'
check "it keeps the configuration and key files" \
	'[ "$(md5sum /etc/autosmime/autosmime.conf /etc/autosmime/kek | md5sum)" = "$sum_before" ]'
check "it keeps the store: alice's certificate is listed" \
	'as_svc /usr/sbin/autosmimectl list 2>>"$tmp/log" | grep -q alice@example.org'
start
check "the upgraded daemon signs with the same CA" 'sign "$tmp/out2.eml"'
stop

# --- remove keeps configuration and data; purge removes them, leaving a copy
dpkg -r autosmime >"$tmp/remove.log" 2>&1
check "dpkg -r removes the programs" '[ $? = 0 ] && [ ! -e /usr/sbin/autosmime-milter ]'
check "and keeps the configuration and the store" \
	'[ -f /etc/autosmime/autosmime.conf ] && [ -f /var/lib/autosmime/store/certs.db ]'
dpkg -P autosmime >"$tmp/purge.log" 2>&1
check "dpkg -P purges the package" '[ $? = 0 ] || { tail -5 "$tmp/purge.log"; false; }'
installed=
check "purge removes /etc/autosmime, /var/lib/autosmime and the socket directory" \
	'[ ! -e /etc/autosmime ] && [ ! -e /var/lib/autosmime ] && [ ! -e /var/spool/postfix/autosmime ] &&
	 [ ! -e /run/autosmime ]'
check "and the units' enablement" \
	'[ -z "$(find /etc/systemd/system -name "autosmime-*" 2>/dev/null)" ]'
backup=
for f in /var/backups/autosmime-*.tar; do
	[ -f "$f" ] && ! printf '%s\n' "$backups_before" | grep -qx "$f" && backup=$f
done
check "purge leaves a copy of store and configuration in /var/backups, mode 0600" \
	'[ -n "$backup" ] && [ "$(stat -c "%a" "$backup")" = 600 ] &&
	 tar -tf "$backup" | grep -q "var/lib/autosmime/store/certs.db" &&
	 tar -tf "$backup" | grep -q "etc/autosmime/kek"'
tap_done
