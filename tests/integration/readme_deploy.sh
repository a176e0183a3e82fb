#!/bin/bash
# readme_deploy: README.md "Deploying on a mail gateway" followed step by step, as a new admin
# does it on Debian 12 as shipped: `make install`, the service user and directories by hand,
# /etc/autosmime/autosmime.conf from the installed example (checked with -n), the key files,
# `ca init` and `issue` as the service user; Debian's own Postfix with its chrooted smtpd, the
# two contrib/postfix snippets, TLS on submission, SASL through Dovecot (PAM, the Unix
# password), /etc/postfix/sender_login, postfix in the service group and the service user in
# postdrop; the daemon run from the installed unit's own command line, its lines in
# /var/log/mail.log next to Postfix's (rsyslog, as a Debian admin installs it). Then: an
# enrolled sender's mail leaves signed, a new one enrols in band (challenge and confirmation
# in her mbox, signed by the gateway), a quick restart, and the CRLs published where a web
# server user can read them at the address the certificates name.
#
# Nothing on the machine changes: the test runs in its own mount, network, PID, IPC and UTS
# namespaces, with throw-away overlays over /etc, /usr and /var, a fresh /run and /dev; the
# "Internet" is an smtp-sink on 127.0.0.1, DNS the harness's DNSSEC-signed zones.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$top_srcdir}
top_srcdir=$(cd "$top_srcdir" && pwd)
top_builddir=$(cd "$top_builddir" && pwd)
export top_srcdir top_builddir

if [ -z "${_RD_INSIDE:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (namespaces, overlays)"; exit 0; }
	for c in unshare postfix dovecot rsyslogd swaks smtp-sink openssl setpriv useradd adduser \
		chpasswd nsd unbound ldns-signzone; do
		command -v "$c" >/dev/null || { echo "1..0 # SKIP $c is not installed"; exit 0; }
	done
	grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
	grep -qw overlay /proc/filesystems || { echo "1..0 # SKIP no overlay file system"; exit 0; }
	[ -x "$top_builddir/milter/autosmime-milter" ] || { echo "1..1"; echo "not ok 1 - not built"; exit 1; }
	rd_tmp=$(mktemp -d /tmp/autosmime-readme.XXXXXX) || exit 1
	chmod 0755 "$rd_tmp"
	_RD_INSIDE=1 RD_TMP=$rd_tmp unshare --mount --net --pid --ipc --uts --fork --kill-child \
		--mount-proc --propagation private bash "$0"
	rc=$?
	rm -rf "$rd_tmp"
	exit $rc
fi

# ------------------------------------------------------------------ inside the namespaces
# The scratch file system and the overlays: whatever the admin's commands change stays here.
mount -t tmpfs -o mode=0755 rd "$RD_TMP" || exit 1
for d in etc usr var; do
	mkdir -p "$RD_TMP/ov/$d/up" "$RD_TMP/ov/$d/work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$RD_TMP/ov/$d/up,workdir=$RD_TMP/ov/$d/work" "/$d" ||
		{ echo "1..0 # SKIP cannot mount an overlay over /$d"; exit 0; }
done
mount -t tmpfs -o mode=0755 run /run
# /dev/log must be rsyslog's socket here, so /dev is a fresh tmpfs with the host's basic nodes.
mkdir -p "$RD_TMP/hostdev" && mount --rbind /dev "$RD_TMP/hostdev" &&
	mount -t tmpfs -o mode=0755,nosuid dev /dev || exit 1
for n in null zero full random urandom tty; do
	: > "/dev/$n" && mount --bind "$RD_TMP/hostdev/$n" "/dev/$n"
done
ln -s /proc/self/fd /dev/fd && ln -s fd/0 /dev/stdin && ln -s fd/1 /dev/stdout && ln -s fd/2 /dev/stderr
mkdir /dev/shm && mount -t tmpfs -o mode=1777 shm /dev/shm
ip link set lo up
rm -f /var/spool/postfix/pid/*.pid /var/run/*.pid 2>/dev/null

. "$top_srcdir/tests/harness/dns.sh"
. "$top_srcdir/tests/harness/postfix.sh"   # pf_sink_message only: the Postfix here is Debian's own
. "$top_srcdir/tests/harness/smime.sh"
h_init readme
cd "$H_TMP" || exit 1
log=$H_TMP/steps.log
run() { "$@" >> "$log" 2>&1; }
check() { # DESC CMD...: a failure shows the last lines of the step log and of mail.log
	local d=$1
	shift
	"$@"
	tap_ok $? "$d"
	[ "$_tap_failed" = "${_seen_failed:-0}" ] && return 0
	_seen_failed=$_tap_failed
	tail -n 6 "$log" /var/log/mail.log 2>/dev/null | sed 's/^/#   /'
	return 0
}

dns_start || { echo "1..0 # SKIP the test DNS did not start"; exit 1; }
D=$DNS_ZONE_OURS              # DNSSEC-signed, CAA issuemail names $DNS_CA_DOMAIN
hostname "gw.$D"
rsyslogd -iNONE >> "$log" 2>&1
check "rsyslog runs with Debian's configuration (mail.* to /var/log/mail.log)" h_wait 10 test -S /dev/log

# --- Step 1: build and install by hand; the service user and its directories.
run make -C "$top_builddir" install
check "step 1: make install puts the programs, the example configuration and the unit in place" \
	eval 'command -v autosmime-milter autosmimectl >> "$log" && [ -f /etc/autosmime/autosmime.conf.example ] &&
		unit=$(ls /lib/systemd/system/autosmime-milter.service /usr/local/lib/systemd/system/autosmime-milter.service 2>/dev/null | head -n1) &&
		[ -n "$unit" ]'
unit=$(ls /lib/systemd/system/autosmime-milter.service /usr/local/lib/systemd/system/autosmime-milter.service 2>/dev/null | head -n1)
run useradd -r -d /var/lib/autosmime autosmime
run install -d -o autosmime -m 0755 /var/lib/autosmime
run install -d -o autosmime -m 0750 /run/autosmime
run install -d -o root -g autosmime -m 0750 /etc/autosmime
run install -d -o autosmime -g autosmime -m 0750 /var/spool/postfix/autosmime
check "step 1: user autosmime, /var/lib/autosmime, /run/autosmime, /etc/autosmime and the socket directory in the chroot" \
	eval '[ "$(stat -c %U:%a /var/lib/autosmime /run/autosmime /var/spool/postfix/autosmime | tr "\n" " ")" = "autosmime:755 autosmime:750 autosmime:750 " ] &&
		[ "$(stat -c %U:%G:%a /etc/autosmime)" = root:autosmime:750 ]'

# --- Step 2: the configuration from the installed example, checked with -n.
conf=/etc/autosmime/autosmime.conf
sed -e "s/^local_domains .*/local_domains $D/" /etc/autosmime/autosmime.conf.example > "$conf"
autosmime-milter -n -c "$conf" > "$log.n" 2>&1
check "step 2: -n on the example with local_domains only warns that enrolment is off (no enrol_address)" \
	grep -q "warning: enrol_address is empty: enrolment is off" "$log.n"
echo "enrol_address enrol@$D" >> "$conf"
autosmime-milter -n -c "$conf" > "$log.n" 2>&1
check "step 2: with enrol_address but no ca_domain, -n warns that no domain can enrol" \
	grep -q "warning: caa_check is on but ca_domain is empty" "$log.n"
cat >> "$conf" <<-EOF
	ca_base_url http://ca.$D/autosmime
	organization_name Example Gateway Ltd
	organization_country DE
	ca_domain $DNS_CA_DOMAIN
	socket unix:/var/spool/postfix/autosmime/autosmime.sock
	# the test's DNS (a validating resolver on loopback, and its trust anchor)
	dns_resolver $DNS_RESOLVER
	dns_trust_anchor_file $DNS_TRUST_ANCHOR
	EOF
chgrp autosmime "$conf" && chmod 0640 "$conf"
: > "$log.n"
autosmime-milter -n -c "$conf" > "$log.n" 2>&1
n_rc=$?
check "step 2: with the README's settings -n is content (status 0, no warning)" \
	eval '[ $n_rc = 0 ] && ! grep -qi warning "$log.n"'
cat "$log.n" >> "$log"

# --- Step 3: the key files, 0600 and the service user's.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > /etc/autosmime/kek
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > /etc/autosmime/ca.pass
chown autosmime /etc/autosmime/kek /etc/autosmime/ca.pass && chmod 0600 /etc/autosmime/kek /etc/autosmime/ca.pass

# --- Step 4: the CA, as the service user, in a directory it may write.
cd /var/lib/autosmime || exit 1
run runuser -u autosmime -- autosmimectl ca init --root-cert root.pem --root-key root.key
check "step 4: ca init as the service user writes root.pem and the encrypted root.key (0600)" \
	eval '[ -s root.pem ] && [ "$(stat -c %U:%a root.key)" = autosmime:600 ] && grep -q ENCRYPTED root.key'
mv root.key "$H_TMP/root.key.offline" && cp root.pem "$H_TMP/root.pem"
cd "$H_TMP" || exit 1

# --- Step 5: a certificate by hand.
ALICE=alice@$D CAROL=carol@$D DAVE=dave@remote.example
run runuser -u autosmime -- autosmimectl issue "$ALICE"
check "step 5: autosmimectl issue $ALICE" eval 'runuser -u autosmime -- autosmimectl list --mailbox "$ALICE" | grep -q status=valid'

# --- Step 6: Postfix as Debian ships it, the snippets, TLS, Dovecot SASL, sender_login, groups.
sink_port=$(h_free_port)
mkdir -p "$H_TMP/sink" && chown nobody "$H_TMP/sink"
( cd "$H_TMP/sink" && exec smtp-sink -u nobody -d "$H_TMP/sink/%Y%m%d%H%M%S." "127.0.0.1:$sink_port" 16 ) \
	>> "$log" 2>&1 &
# The gateway's own settings (Debian installed Postfix as "Local only"): its names, mail for
# $D delivered here, everything else to the stand-in Internet.
run postconf -e "myhostname = gw.$D" "mydomain = $D" "myorigin = \$mydomain" \
	"mydestination = \$myhostname, localhost, \$mydomain" "default_transport = smtp" \
	"relay_transport = relay" "relayhost = [127.0.0.1]:$sink_port" "smtp_dns_support_level = disabled"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=gw.$D" \
	-keyout /etc/ssl/private/gw.key -out /etc/ssl/certs/gw.pem >> "$log" 2>&1
chmod 0600 /etc/ssl/private/gw.key
run postconf -e "smtpd_tls_cert_file = /etc/ssl/certs/gw.pem" "smtpd_tls_key_file = /etc/ssl/private/gw.key"
grep -v '^#' "$top_srcdir/contrib/postfix/main.cf.snippet" | grep . >> /etc/postfix/main.cf
cat "$top_srcdir/contrib/postfix/master.cf.snippet" >> /etc/postfix/master.cf
run postconf -e "smtpd_sasl_type = dovecot" "smtpd_sasl_path = private/auth"
# Dovecot reads its TLS certificate at start (Debian links the ssl-cert snakeoil pair there).
ln -sf /etc/ssl/certs/gw.pem /etc/dovecot/private/dovecot.pem
ln -sf /etc/ssl/private/gw.key /etc/dovecot/private/dovecot.key
cat > /etc/dovecot/conf.d/99-postfix-auth.conf <<-EOF
	service auth {
	  unix_listener /var/spool/postfix/private/auth {
	    mode = 0660
	    user = postfix
	    group = postfix
	  }
	}
	EOF
printf '%s alice\n%s carol\n' "$ALICE" "$CAROL" > /etc/postfix/sender_login
run postmap /etc/postfix/sender_login
printf 'enrol: root\n' >> /etc/aliases && run newaliases
for u in alice carol; do
	run useradd -m "$u" && printf '%s:pw-%s\n' "$u" "$u" | chpasswd
done
run adduser postfix autosmime
run adduser autosmime postdrop
check "step 6: master.cf runs submission's smtpd chrooted, as Debian's smtp service" \
	eval '[ "$(postconf -F submission/inet/chroot smtp/inet/chroot | sed "s/.*= //" | tr "\n" " ")" = "y y " ]'

# The unit's own command lines, as systemd runs them: its User= and Group= with their
# supplementary groups, no new privileges, UMask=, standard error connected to the journal
# (JOURNAL_STREAM names that stream; the daemon then logs to syslog).
unit_value() { sed -n "s/^$1=//p" "$unit" | head -n1; }
svc_user=$(unit_value User)
svc_group=$(unit_value Group)
svc_umask=$(unit_value UMask)
read -r -a pre_cmd <<< "$(unit_value ExecStartPre)"
read -r -a start_cmd <<< "$(unit_value ExecStart)"
daemon_pid=
as_unit() { setpriv --reuid="$svc_user" --regid="$svc_group" --init-groups --no-new-privs -- "$@"; }
unit_start() {
	local err=$H_TMP/journal.$$.$RANDOM
	: > "$err" && chown "$svc_user" "$err"
	as_unit "${pre_cmd[@]}" >> "$log" 2>&1 || return 1
	(
		umask "$svc_umask"
		exec 2>> "$err"
		JOURNAL_STREAM=$(stat -c '%d:%i' "$err") exec setpriv --reuid="$svc_user" \
			--regid="$svc_group" --init-groups --no-new-privs -- "${start_cmd[@]}"
	) &
	daemon_pid=$!
	h_wait 20 test -S /var/spool/postfix/autosmime/autosmime.sock
}
unit_stop() {
	[ -n "$daemon_pid" ] || return 0
	kill -TERM "$daemon_pid" 2>/dev/null
	h_wait 30 eval '! kill -0 "$daemon_pid" 2>/dev/null'
	wait "$daemon_pid" 2>/dev/null
	daemon_pid=
}
check "step 6: the daemon starts from the unit's command line (${start_cmd[*]})" unit_start

run dovecot
check "Dovecot's auth socket appears in Postfix's queue directory" h_wait 15 test -S /var/spool/postfix/private/auth
run /usr/lib/postfix/configure-instance.sh -
run postfix start
check "Debian's Postfix starts (port 25 and submission on loopback)" \
	h_wait 20 eval 'ss -ltn | grep -q "127.0.0.1:587 " && ss -ltn | grep -q "127.0.0.1:25 "'

n_msg=0
msg() { # FROM TO SUBJECT -> $m
	n_msg=$((n_msg + 1))
	m=$H_TMP/msg$n_msg.eml
	printf 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <readme-%d@%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello from the README path, message %d.\r\n' \
		"$1" "$2" "$3" "$n_msg" "$D" "$(date -R)" "$n_msg" > "$m"
}
submit() { # LOGIN FROM TO FILE: SMTP AUTH over STARTTLS on port 587, as a mail client does
	swaks --server 127.0.0.1 --port 587 --tls --auth PLAIN --auth-user "$1" --auth-password "pw-$1" \
		--from "$2" --to "$3" --data "@$4" --helo client.example --timeout 30 >> "$log" 2>&1
}
sink_msg() { # MESSAGE-ID OUT: the message as it reached the Internet
	local f
	for f in $(ls -t "$H_TMP/sink" 2>/dev/null); do
		grep -q "^Message-ID: <$1>" "$H_TMP/sink/$f" && { pf_sink_message "$H_TMP/sink/$f" > "$2"; return 0; }
	done
	return 1
}
verifies() { openssl cms -verify -in "$1" -inform SMIME -CAfile "$H_TMP/root.pem" -purpose smimesign -out /dev/null 2>> "$log"; }

# --- The enrolled sender: signed, verified, logged.
msg "$ALICE" "$DAVE" "first signed mail"
check "alice submits with SMTP AUTH (Dovecot) over TLS on port 587" submit alice "$ALICE" "$DAVE" "$m"
check "her mail reaches the Internet" h_wait 20 sink_msg "readme-$n_msg@$D" "$H_TMP/out1.eml"
check "it is signed and openssl cms -verify accepts it against the CA root" \
	eval 'smime_is_signed "$H_TMP/out1.eml" && verifies "$H_TMP/out1.eml"'
qid=$(grep -a "postfix/submission/smtpd.*sasl_username=alice" /var/log/mail.log | tail -n1 | sed -n 's/.*: \([0-9A-F]*\): client=.*/\1/p')
check "mail.log holds Postfix's line and the milter's event=sign line for the same queue id" \
	h_wait 10 eval '[ -n "$qid" ] && grep -a "autosmime-milter\[[0-9]*\]: $qid: event=sign sender=$ALICE" /var/log/mail.log | grep -q "serial="'
check "the smtpd that served her runs chrooted in /var/spool/postfix" \
	eval 'for p in $(pgrep -f "smtpd -n submission"); do [ "$(readlink /proc/$p/root)" = /var/spool/postfix ] || exit 1; done; [ -n "$(pgrep -f "smtpd -n submission")" ]'

# --- A new sender enrols in band.
mbox=/var/mail/carol
msg "$CAROL" "$DAVE" "before enrolment"
check "carol, without a certificate, submits" submit carol "$CAROL" "$DAVE" "$m"
check "her mail leaves unsigned (unenrolled_action pass)" \
	eval 'h_wait 20 sink_msg "readme-$n_msg@$D" "$H_TMP/out2.eml" && ! smime_is_signed "$H_TMP/out2.eml"'
check "the challenge reaches her mbox through sendmail(1) (the service user in postdrop)" \
	h_wait 20 grep -q '^Subject: ACME: ' "$mbox"
mbox_last() { awk '/^From / { n++ } { m[n] = m[n] $0 "\n" } END { printf "%s", m[n] }' "$mbox" | sed 1d; }
mbox_last > "$H_TMP/challenge.eml"
check "the challenge is signed by the gateway's certificate for enrol@$D" \
	eval 'smime_is_signed "$H_TMP/challenge.eml" && verifies "$H_TMP/challenge.eml"'
subj=$(sed -n 's/^Subject: //p' "$H_TMP/challenge.eml" | head -n1 | tr -d '\r')
cid=$(sed -n 's/^Message-ID: //Ip' "$H_TMP/challenge.eml" | head -n1 | tr -d '\r')
n_msg=$((n_msg + 1))
printf 'From: <%s>\r\nTo: <enrol@%s>\r\nSubject: Re: %s\r\nIn-Reply-To: %s\r\nMessage-ID: <readme-%d@%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYes, please.\r\n' \
	"$CAROL" "$D" "$subj" "$cid" "$n_msg" "$D" "$(date -R)" > "$H_TMP/reply.eml"
check "carol presses Reply and sends" submit carol "$CAROL" "enrol@$D" "$H_TMP/reply.eml"
check "the CA issues her certificate after the CAA issuemail check under DNSSEC" \
	h_wait 20 eval 'runuser -u autosmime -- autosmimectl list --mailbox "$CAROL" | grep -q status=valid'
check "the confirmation with her certificate reaches her mbox, signed by the gateway" \
	eval 'h_wait 20 eval "[ \$(grep -c \"^From \" $mbox) -ge 2 ]" && mbox_last > "$H_TMP/confirm.eml" && verifies "$H_TMP/confirm.eml"'
check "mail.log records the validation with its CAA evidence" \
	h_wait 10 eval 'grep -a "event=enrol-validation mailbox=$CAROL" /var/log/mail.log | grep -q "caa=allowed"'
msg "$CAROL" "$DAVE" "after enrolment"
submit carol "$CAROL" "$DAVE" "$m"
check "her next mail leaves signed and verifies" \
	eval 'h_wait 20 sink_msg "readme-$n_msg@$D" "$H_TMP/out3.eml" && verifies "$H_TMP/out3.eml"'

# --- A quick restart (systemctl restart): stop, start at once, sign again.
unit_stop
check "after a stop no pid file is left" eval '! ls /run/autosmime/*.pid >/dev/null 2>&1'
check "a start right after the stop serves again" unit_start
msg "$ALICE" "$DAVE" "after the restart"
submit alice "$ALICE" "$DAVE" "$m"
check "the first mail after the restart leaves signed" \
	eval 'h_wait 20 sink_msg "readme-$n_msg@$D" "$H_TMP/out4.eml" && verifies "$H_TMP/out4.eml"'

# --- Step 7: the CRLs, where the certificates say and readable by the web server's user.
run runuser -u autosmime -- autosmimectl crl --if-due
openssl cms -verify -noverify -in "$H_TMP/out1.eml" -inform SMIME -signer "$H_TMP/alice.pem" -out /dev/null 2>> "$log"
cdp=$(openssl x509 -in "$H_TMP/alice.pem" -noout -ext crlDistributionPoints 2>/dev/null | sed -n 's/^ *URI://p' | head -n1)
crl_file=/var/lib/autosmime/crl/${cdp#http://ca.$D/autosmime/}
check "step 7: the CRL that alice's certificate names ($cdp) is in crl_dir" eval '[ -n "$cdp" ] && [ -f "$crl_file" ]'
check "step 7: www-data can read it, and it is a CRL signed by her issuing CA" \
	eval 'runuser -u www-data -- cat "$crl_file" > "$H_TMP/crl.der" &&
		openssl crl -in "$H_TMP/crl.der" -inform DER -noout -issuer | grep -q "$(openssl x509 -in "$H_TMP/alice.pem" -noout -issuer | sed "s/^issuer=//")"'

unit_stop
postfix stop >> "$log" 2>&1
doveadm stop >> "$log" 2>&1
tap_done
