# dns.sh: DNSSEC test DNS on loopback for integration tests (bash, sourced; root not required).
#
# Owns everything under $DNS_DIR: an authoritative nsd (private config, pid, log, no database)
# serving zones signed at test time with ldns-keygen/ldns-signzone, behind a validating unbound
# (private config; stub-zones to nsd; trust anchor = the DS of $DNS_PARENT; no root hints: every
# name outside the test zones is forwarded to a dead loopback port, so nothing leaves 127.0.0.1).
#
# Zones (children of $DNS_PARENT = autosmime.test, all delegated from it):
#   $DNS_ZONE_OURS      caa-ours.autosmime.test   secure; CAA 0 issuemail "$DNS_CA_DOMAIN"; SMIMEA
#   $DNS_ZONE_OTHER     caa-other.autosmime.test  secure; CAA 0 issuemail "other-ca.example"
#   $DNS_ZONE_DENY      caa-deny.autosmime.test   secure; CAA 0 issuemail ";"
#   $DNS_ZONE_NOCAA     no-caa.autosmime.test     secure; no CAA anywhere up the tree
#   $DNS_ZONE_BOGUS     bogus.autosmime.test      DS in the parent, signatures expired in 2020; CAA
#                                                 naming us; SMIMEA (answers SERVFAIL, or bogus with +cd)
#   $DNS_ZONE_INSECURE  insecure.autosmime.test   delegation without DS, unsigned; CAA naming us; SMIMEA
#   $DNS_ZONE_SERVFAIL  servfail.autosmime.test   DS in the parent, delegated to a port nobody answers
#   $DNS_ZONE_NSEC3     nsec3.autosmime.test      secure, NSEC3 (ldns-signzone -n, 0 iterations); CAA
#                                                 naming us; SMIMEA
#   $DNS_ZONE_OPTOUT    optout.autosmime.test     secure, NSEC3 with opt-out (-n -p); SMIMEA; an unsigned
#                                                 delegation unsigned.$DNS_ZONE_OPTOUT to 127.0.0.1 port 53,
#                                                 where nobody answers (lookups below it fail, provably insecure)
# Wildcards under wild.ZONE in $DNS_ZONE_OURS (NSEC), $DNS_ZONE_NSEC3 and $DNS_ZONE_OPTOUT:
#   *.wild TXT "wildcard", *.wild CAA 0 issuemail "$DNS_CA_DOMAIN", *._smimecert.wild SMIMEA 3 0 0
#   (certificate $DNS_DIR/smimea/any@wild.ZONE.crt, for every mailbox @wild.ZONE); and names with
#   their own records beside them: exists.wild TXT "exists", exists.wild CAA 0 issuemail
#   "other-ca.example", and $DNS_SMIMEA_USER@wild.ZONE's own SMIMEA ($DNS_SMIMEA_USER@wild.ZONE.crt).
# "test." is served unsigned (outside the trust anchor) and empty, so a CAA tree climb ends cleanly.
# Every served zone has "@ TXT v=spf1 ip4:127.0.0.1 -all" ($DNS_SPF_DEFAULT); replace it with
# dns_del_rr ZONE @ TXT + dns_add_rr. SMIMEA (RFC 8162, usage 3 selector 0 matching 0: the full
# certificate) for $DNS_SMIMEA_USER@ZONE; the certificate and key are $DNS_DIR/smimea/ADDR.{crt,key}.
#
# Functions:
#   dns_running_pids           identities (h_proc_id) of the servers' processes
#   dns_start / dns_stop       start both servers (ports picked, checked, retried) / stop them
#   dns_add_rr ZONE 'RR'       add one RR in zone-file syntax (owner relative to ZONE or absolute),
#                              re-sign, reload nsd, flush unbound's cache; waits for the new serial
#   dns_del_rr ZONE OWNER TYPE remove the RRs of OWNER (as written in dns_add_rr) and TYPE, same steps
#   dns_smimea_owner ADDR      print the SMIMEA owner name: hex(sha256(local-part))[0..28 octets]._smimecert.DOMAIN.
#   dns_add_smimea ADDR CERT [USAGE SELECTOR MTYPE]   publish CERT (PEM) for ADDR in ADDR's zone
#   dns_query NAME TYPE [drill flags]  drill through unbound with the DO bit; prints drill's output
#   dns_rcode NAME TYPE        prints NOERROR/NXDOMAIN/SERVFAIL... as answered by unbound
#   dns_ad NAME TYPE           true when unbound's answer carries the AD bit
# Variables: DNS_DIR DNS_RESOLVER_ADDR (127.0.0.1) DNS_RESOLVER_PORT (unbound)
#   DNS_RESOLVER ("127.0.0.1@PORT": the syntax autosmime's dns_resolver option takes)
#   DNS_TRUST_ANCHOR (file with the DS of $DNS_PARENT, zone-file syntax; unbound's trust-anchor-file)
#   DNS_TRUST_ANCHOR_KEY (the same anchor as a DNSKEY RR) DNS_AUTH_PORT (nsd) DNS_DEAD_PORT
#   DNS_PARENT DNS_ZONE_* DNS_CA_DOMAIN (default ca.autosmime.test; preset it to change the CAA value)

_dns_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$_dns_here/common.sh"

DNS_PARENT=autosmime.test
DNS_ZONE_OURS=caa-ours.$DNS_PARENT
DNS_ZONE_OTHER=caa-other.$DNS_PARENT
DNS_ZONE_DENY=caa-deny.$DNS_PARENT
DNS_ZONE_NOCAA=no-caa.$DNS_PARENT
DNS_ZONE_BOGUS=bogus.$DNS_PARENT
DNS_ZONE_INSECURE=insecure.$DNS_PARENT
DNS_ZONE_SERVFAIL=servfail.$DNS_PARENT
DNS_ZONE_NSEC3=nsec3.$DNS_PARENT
DNS_ZONE_OPTOUT=optout.$DNS_PARENT
DNS_CA_DOMAIN=${DNS_CA_DOMAIN:-ca.autosmime.test}
DNS_SMIMEA_USER=bob
DNS_SPF_DEFAULT='v=spf1 ip4:127.0.0.1 -all'
DNS_RESOLVER_ADDR=127.0.0.1
export DNS_PARENT DNS_ZONE_OURS DNS_ZONE_OTHER DNS_ZONE_DENY DNS_ZONE_NOCAA DNS_ZONE_BOGUS \
	DNS_ZONE_INSECURE DNS_ZONE_SERVFAIL DNS_ZONE_NSEC3 DNS_ZONE_OPTOUT DNS_CA_DOMAIN \
	DNS_RESOLVER_ADDR
DNS_DIR=
_dns_nsd_pid=
_dns_unbound_pid=
_dns_running=0

# Zones with DS in the parent, zones nsd serves, and the servers' zone list.
_dns_signed_children() { echo "$DNS_ZONE_OURS $DNS_ZONE_OTHER $DNS_ZONE_DENY $DNS_ZONE_NOCAA $DNS_ZONE_BOGUS $DNS_ZONE_NSEC3 $DNS_ZONE_OPTOUT"; }
_dns_served() { echo "test $DNS_PARENT $(_dns_signed_children) $DNS_ZONE_INSECURE"; }
_dns_children() { echo "$(_dns_signed_children) $DNS_ZONE_INSECURE $DNS_ZONE_SERVFAIL"; }

_dns_keygen() { # zone -> prints the key base name
	( cd "$DNS_DIR/keys" && ldns-keygen -a ECDSAP256SHA256 -k "$1." ) | sed "s|^|$DNS_DIR/keys/|"
}

dns_smimea_owner() {
	local addr=$1 h
	h=$(printf '%s' "${addr%@*}" | openssl dgst -sha256 -r | cut -c1-56)
	echo "$h._smimecert.${addr##*@}."
}

_dns_smimea_rr() { # addr certfile usage selector mtype
	local data
	case "$4:$5" in
	0:0) data=$(openssl x509 -in "$2" -outform DER | od -An -v -tx1 | tr -d ' \n') ;;
	1:0) data=$(openssl x509 -in "$2" -pubkey -noout | openssl pkey -pubin -outform DER | od -An -v -tx1 | tr -d ' \n') ;;
	0:1) data=$(openssl x509 -in "$2" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1) ;;
	1:1) data=$(openssl x509 -in "$2" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1) ;;
	0:2) data=$(openssl x509 -in "$2" -outform DER | openssl dgst -sha512 -r | cut -d' ' -f1) ;;
	1:2) data=$(openssl x509 -in "$2" -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha512 -r | cut -d' ' -f1) ;;
	*) h_die "SMIMEA selector/matching $4/$5 unsupported"; return 1 ;;
	esac
	[ -n "$data" ] || return 1
	echo "$(dns_smimea_owner "$1") 300 IN SMIMEA $3 $4 $5 $data"
}

_dns_make_cert() { # addr -> self-signed EC certificate for SMIMEA fixtures
	local addr=$1 d=$DNS_DIR/smimea
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/CN=$addr" -addext "subjectAltName=email:$addr" -addext "extendedKeyUsage=emailProtection" \
		-keyout "$d/$addr.key" -out "$d/$addr.crt" >/dev/null 2>&1
}

# Write ZONE.zone from its fixed part (SOA, NS, delegations) and the editable ZONE.rrs.
_dns_build_zone() {
	local z=$1 serial c key
	serial=$(( $(cat "$DNS_DIR/zones/$z.serial" 2>/dev/null || echo 0) + 1 ))
	echo "$serial" > "$DNS_DIR/zones/$z.serial"
	{
		echo "\$ORIGIN $z."
		echo "\$TTL 300"
		echo "@ IN SOA ns.$z. hostmaster.$z. $serial 3600 600 86400 60"
		echo "@ IN NS ns.$z."
		[ "$z" = test ] || echo "ns.$z. IN A 127.0.0.1"
		if [ "$z" = "$DNS_PARENT" ]; then
			for c in $(_dns_children); do
				echo "$c. IN NS ns.$c."
				echo "ns.$c. IN A 127.0.0.1"
			done
			for c in $(_dns_signed_children) $DNS_ZONE_SERVFAIL; do
				key=$(cat "$DNS_DIR/keys/$c.name")
				sed 's/;.*//' "$key.ds"
			done
		fi
		[ "$z" = test ] && echo "$DNS_PARENT. IN NS ns.$DNS_PARENT." && echo "ns.$DNS_PARENT. IN A 127.0.0.1"
		cat "$DNS_DIR/zones/$z.rrs"
	} > "$DNS_DIR/zones/$z.zone"
	case " test $DNS_ZONE_INSECURE " in
	*" $z "*) cp "$DNS_DIR/zones/$z.zone" "$DNS_DIR/zones/$z.signed"; return 0 ;;
	esac
	key=$(cat "$DNS_DIR/keys/$z.name")
	if [ "$z" = "$DNS_ZONE_NSEC3" ] || [ "$z" = "$DNS_ZONE_OPTOUT" ]; then
		# RFC 9276: no extra iterations, no salt; opt-out on every NSEC3 of the opt-out zone.
		ldns-signzone -n -t 0 $([ "$z" = "$DNS_ZONE_OPTOUT" ] && echo -p) \
			-f "$DNS_DIR/zones/$z.signed" "$DNS_DIR/zones/$z.zone" "$key" || return 1
	elif [ "$z" = "$DNS_ZONE_BOGUS" ]; then
		# Valid-looking signatures that expired long ago: a validator must call the zone bogus.
		ldns-signzone -i 20200101000000 -e 20200201000000 -f "$DNS_DIR/zones/$z.signed" \
			"$DNS_DIR/zones/$z.zone" "$key" || return 1
	else
		ldns-signzone -f "$DNS_DIR/zones/$z.signed" "$DNS_DIR/zones/$z.zone" "$key" || return 1
	fi
}

_dns_wildcards() { # zone: the wildcard names under wild.ZONE (see the header)
	local z=$1 rr
	_dns_make_cert "any@wild.$z" || return 1
	rr=$(_dns_smimea_rr "any@wild.$z" "$DNS_DIR/smimea/any@wild.$z.crt" 3 0 0) || return 1
	{
		echo "*.wild IN TXT \"wildcard\""
		echo "*.wild IN CAA 0 issuemail \"$DNS_CA_DOMAIN\""
		echo "*._smimecert.wild.$z. ${rr#* }"
		echo "exists.wild IN TXT \"exists\""
		echo "exists.wild IN CAA 0 issuemail \"other-ca.example\""
	} >> "$DNS_DIR/zones/$z.rrs"
}

_dns_init() {
	local z addr
	[ -n "$DNS_DIR" ] && return 0
	[ -n "$H_TMP" ] || h_init dns
	DNS_DIR=$H_TMP/dns
	export DNS_DIR
	mkdir -p "$DNS_DIR/keys" "$DNS_DIR/zones" "$DNS_DIR/smimea" || return 1
	for z in $DNS_PARENT $(_dns_signed_children) $DNS_ZONE_SERVFAIL; do
		_dns_keygen "$z" > "$DNS_DIR/keys/$z.name" || return 1
	done
	# The trust anchor: the parent's key as DS (and as DNSKEY for libraries that want keys).
	z=$(cat "$DNS_DIR/keys/$DNS_PARENT.name")
	DNS_TRUST_ANCHOR=$DNS_DIR/trust-anchor.ds
	DNS_TRUST_ANCHOR_KEY=$DNS_DIR/trust-anchor.key
	sed 's/;.*//' "$z.ds" > "$DNS_TRUST_ANCHOR"
	grep -v '^;' "$z.key" > "$DNS_TRUST_ANCHOR_KEY"
	export DNS_TRUST_ANCHOR DNS_TRUST_ANCHOR_KEY
	for z in $(_dns_served); do
		[ "$z" = test ] && { : > "$DNS_DIR/zones/$z.rrs"; continue; }
		echo "@ IN TXT \"$DNS_SPF_DEFAULT\"" > "$DNS_DIR/zones/$z.rrs"
	done
	echo "@ IN A 127.0.0.1" >> "$DNS_DIR/zones/$DNS_PARENT.rrs"
	echo "@ IN CAA 0 issuemail \"$DNS_CA_DOMAIN\"" >> "$DNS_DIR/zones/$DNS_ZONE_OURS.rrs"
	echo "@ IN CAA 0 issuemail \"other-ca.example\"" >> "$DNS_DIR/zones/$DNS_ZONE_OTHER.rrs"
	echo "@ IN CAA 0 issuemail \";\"" >> "$DNS_DIR/zones/$DNS_ZONE_DENY.rrs"
	echo "@ IN CAA 0 issuemail \"$DNS_CA_DOMAIN\"" >> "$DNS_DIR/zones/$DNS_ZONE_BOGUS.rrs"
	echo "@ IN CAA 0 issuemail \"$DNS_CA_DOMAIN\"" >> "$DNS_DIR/zones/$DNS_ZONE_INSECURE.rrs"
	echo "@ IN CAA 0 issuemail \"$DNS_CA_DOMAIN\"" >> "$DNS_DIR/zones/$DNS_ZONE_NSEC3.rrs"
	echo "unsigned IN NS ns.unsigned" >> "$DNS_DIR/zones/$DNS_ZONE_OPTOUT.rrs"
	echo "ns.unsigned IN A 127.0.0.1" >> "$DNS_DIR/zones/$DNS_ZONE_OPTOUT.rrs"
	for z in $DNS_ZONE_OURS $DNS_ZONE_BOGUS $DNS_ZONE_INSECURE $DNS_ZONE_NSEC3 $DNS_ZONE_OPTOUT \
		wild.$DNS_ZONE_OURS wild.$DNS_ZONE_NSEC3 wild.$DNS_ZONE_OPTOUT; do
		addr=$DNS_SMIMEA_USER@$z
		_dns_make_cert "$addr" || return 1
		_dns_smimea_rr "$addr" "$DNS_DIR/smimea/$addr.crt" 3 0 0 >> "$DNS_DIR/zones/$(_dns_zone_of "$z").rrs" || return 1
	done
	for z in $DNS_ZONE_OURS $DNS_ZONE_NSEC3 $DNS_ZONE_OPTOUT; do
		_dns_wildcards "$z" || return 1
	done
	for z in $(_dns_served); do
		_dns_build_zone "$z" || return 1
	done
	h_at_exit dns_stop
}

_dns_write_conf() {
	local z
	{
		echo "server:"
		echo "  ip-address: 127.0.0.1@$DNS_AUTH_PORT"
		echo "  port: $DNS_AUTH_PORT"
		echo "  do-ip6: no"
		echo "  username: \"\""
		echo "  chroot: \"\""
		echo "  zonesdir: \"$DNS_DIR/zones\""
		echo "  database: \"\""
		echo "  zonelistfile: \"$DNS_DIR/nsd.zonelist\""
		echo "  xfrdfile: \"\""
		echo "  xfrdir: \"$DNS_DIR\""
		echo "  pidfile: \"$DNS_DIR/nsd.pid\""
		echo "  logfile: \"$DNS_DIR/nsd.log\""
		echo "  server-count: 1"
		echo "  verbosity: 1"
		echo "  hide-version: yes"
		echo "remote-control:"
		echo "  control-enable: yes"
		echo "  control-interface: \"$DNS_DIR/nsd.ctl\""
		for z in $(_dns_served); do
			echo "zone:"
			echo "  name: \"$z.\""
			echo "  zonefile: \"$z.signed\""
		done
	} > "$DNS_DIR/nsd.conf"
	{
		echo "server:"
		echo "  interface: 127.0.0.1@$DNS_RESOLVER_PORT"
		echo "  port: $DNS_RESOLVER_PORT"
		echo "  do-ip6: no"
		echo "  do-daemonize: no"
		echo "  username: \"\""
		echo "  chroot: \"\""
		echo "  directory: \"$DNS_DIR\""
		echo "  pidfile: \"$DNS_DIR/unbound.pid\""
		echo "  logfile: \"$DNS_DIR/unbound.log\""
		echo "  use-syslog: no"
		echo "  verbosity: 1"
		echo "  val-log-level: 2"
		echo "  log-servfail: yes"
		echo "  num-threads: 1"
		echo "  do-not-query-localhost: no"
		echo "  access-control: 127.0.0.0/8 allow"
		echo "  module-config: \"validator iterator\""
		echo "  trust-anchor-file: \"$DNS_TRUST_ANCHOR\""
		echo "  qname-minimisation: no"
		echo "  aggressive-nsec: no"
		echo "  prefetch: no"
		echo "  infra-host-ttl: 5"
		echo "  outbound-msg-retry: 1"
		echo "  harden-referral-path: no"
		# test. is special-use (RFC 6761): unbound answers it locally unless told otherwise.
		echo "  local-zone: \"test.\" nodefault"
		echo "remote-control:"
		echo "  control-enable: yes"
		echo "  control-interface: \"$DNS_DIR/unbound.ctl\""
		echo "  control-use-cert: no"
		for z in test $DNS_PARENT $(_dns_children); do
			echo "stub-zone:"
			echo "  name: \"$z.\""
			if [ "$z" = "$DNS_ZONE_SERVFAIL" ]; then
				echo "  stub-addr: 127.0.0.1@$DNS_DEAD_PORT"
			else
				echo "  stub-addr: 127.0.0.1@$DNS_AUTH_PORT"
			fi
		done
		echo "forward-zone:"
		echo "  name: \".\""
		echo "  forward-addr: 127.0.0.1@$DNS_DEAD_PORT"
	} > "$DNS_DIR/unbound.conf"
}

_dns_nsd_up() { h_udp_bound "$DNS_AUTH_PORT" && h_port_listening "$DNS_AUTH_PORT"; }
_dns_unbound_up() { h_udp_bound "$DNS_RESOLVER_PORT" && h_port_listening "$DNS_RESOLVER_PORT"; }

_dns_start_once() {
	rm -f "$DNS_DIR/nsd.pid" "$DNS_DIR/nsd.ctl" "$DNS_DIR/unbound.ctl"
	nsd -c "$DNS_DIR/nsd.conf" >> "$DNS_DIR/start.log" 2>&1 || return 1
	h_wait 10 _dns_nsd_up && h_wait 5 test -s "$DNS_DIR/nsd.pid" || return 1
	_dns_nsd_pid=$(cat "$DNS_DIR/nsd.pid")
	unbound -d -c "$DNS_DIR/unbound.conf" >> "$DNS_DIR/start.log" 2>&1 &
	_dns_unbound_pid=$!
	h_wait 10 _dns_unbound_up && h_pid_alive "$_dns_unbound_pid" || return 1
	# nsd must answer for the parent before tests start.
	h_wait 10 eval '[ "$(dns_rcode '"$DNS_PARENT"' SOA)" = NOERROR ]'
}

dns_start() {
	local try
	[ "$_dns_running" = 1 ] && return 0
	_dns_init || { h_die "dns: building the zones failed"; return 1; }
	for try in 1 2 3; do
		DNS_AUTH_PORT=$(h_free_port) && DNS_RESOLVER_PORT=$(h_free_port) &&
			DNS_DEAD_PORT=$(h_free_port) || return 1
		DNS_RESOLVER="$DNS_RESOLVER_ADDR@$DNS_RESOLVER_PORT"
		export DNS_AUTH_PORT DNS_RESOLVER_PORT DNS_DEAD_PORT DNS_RESOLVER
		_dns_write_conf
		_dns_running=1
		if _dns_start_once; then
			h_log "dns up: nsd $DNS_AUTH_PORT unbound $DNS_RESOLVER_PORT"
			return 0
		fi
		dns_stop
	done
	h_die "dns did not start; see $DNS_DIR/start.log nsd.log unbound.log"
	tail -n 20 "$DNS_DIR/start.log" "$DNS_DIR/nsd.log" "$DNS_DIR/unbound.log" 2>/dev/null | sed 's/^/# /' >&2
	return 1
}

dns_stop() {
	[ "$_dns_running" = 1 ] || return 0
	if [ -z "$_dns_nsd_pid" ] && [ -s "$DNS_DIR/nsd.pid" ]; then
		_dns_nsd_pid=$(cat "$DNS_DIR/nsd.pid")
	fi
	[ -n "$_dns_unbound_pid" ] && { h_kill_pid "$_dns_unbound_pid"; wait "$_dns_unbound_pid" 2>/dev/null; }
	[ -n "$_dns_nsd_pid" ] && h_kill_pid "$_dns_nsd_pid"
	_dns_nsd_pid=
	_dns_unbound_pid=
	_dns_running=0
	return 0
}

# Identities (h_proc_id) of nsd (and its children) and unbound.
dns_running_pids() {
	local p
	for p in $_dns_nsd_pid $(pgrep -P "${_dns_nsd_pid:-0}" 2>/dev/null) $_dns_unbound_pid; do
		h_pid_alive "$p" && h_proc_id "$p"
	done
	return 0
}

# The zone of a name: the longest served zone that is a suffix.
_dns_zone_of() {
	local n=${1%.} z best=
	for z in $(_dns_served); do
		case "$n" in "$z" | *".$z") [ ${#z} -gt ${#best} ] && best=$z ;; esac
	done
	echo "$best"
}

_dns_serial_served() {
	drill -p "$DNS_AUTH_PORT" @127.0.0.1 "$1." SOA 2>/dev/null | awk '!/^;/ && $4 == "SOA" { print $7; exit }'
}

_dns_republish() {
	local z=$1 want
	_dns_build_zone "$z" || return 1
	[ "$_dns_running" = 1 ] || return 0
	want=$(cat "$DNS_DIR/zones/$z.serial")
	nsd-control -c "$DNS_DIR/nsd.conf" reload "$z." >> "$DNS_DIR/control.log" 2>&1 || return 1
	h_wait 10 eval '[ "$(_dns_serial_served '"$z"')" = '"$want"' ]' || { h_die "nsd did not load $z serial $want"; return 1; }
	unbound-control -c "$DNS_DIR/unbound.conf" flush_zone "$DNS_PARENT." >> "$DNS_DIR/control.log" 2>&1 &&
	unbound-control -c "$DNS_DIR/unbound.conf" flush_bogus >> "$DNS_DIR/control.log" 2>&1 &&
	unbound-control -c "$DNS_DIR/unbound.conf" flush_negative >> "$DNS_DIR/control.log" 2>&1
}

dns_add_rr() {
	local z=${1%.}
	_dns_init || return 1
	case " $(_dns_served) " in *" $z "*) ;; *) h_die "dns_add_rr: $z is not a served zone"; return 1 ;; esac
	printf '%s\n' "$2" >> "$DNS_DIR/zones/$z.rrs"
	_dns_republish "$z"
}

dns_del_rr() {
	local z=${1%.} owner=$2 type=$3
	_dns_init || return 1
	awk -v o="$owner" -v t="$type" '{
		n = split($0, f, /[ \t]+/); ty = ""
		for (i = 2; i <= n; i++) if (f[i] !~ /^[0-9]+$/ && f[i] != "IN") { ty = f[i]; break }
		if (f[1] == o && toupper(ty) == toupper(t)) next
		print }' "$DNS_DIR/zones/$z.rrs" > "$DNS_DIR/zones/$z.rrs.new" &&
		mv "$DNS_DIR/zones/$z.rrs.new" "$DNS_DIR/zones/$z.rrs"
	_dns_republish "$z"
}

dns_add_smimea() {
	local addr=$1 cert=$2 rr z
	_dns_init || return 1
	rr=$(_dns_smimea_rr "$addr" "$cert" "${3:-3}" "${4:-0}" "${5:-0}") || return 1
	z=$(_dns_zone_of "${addr##*@}")
	[ -n "$z" ] || { h_die "dns_add_smimea: no served zone for $addr"; return 1; }
	dns_add_rr "$z" "$rr"
}

dns_query() {
	local name=$1 type=$2
	shift 2
	drill -D -p "$DNS_RESOLVER_PORT" "$@" @"$DNS_RESOLVER_ADDR" "$name" "$type" 2>&1
}

dns_rcode() {
	dns_query "$1" "$2" | sed -n 's/.*rcode: \([A-Z]*\).*/\1/p' | head -n1
}

dns_ad() {
	dns_query "$1" "$2" | grep -E '^;; flags:' | head -n1 | grep -qw ad
}
