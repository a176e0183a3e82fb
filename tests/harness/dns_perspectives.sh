# dns_perspectives.sh: more DNS perspectives beside dns.sh's resolver, for multi-perspective
# checks (bash, sourced after dns.sh and dns_start). Owns everything under $DNS_DIR/persp-*.
#
#   dnsp_unbound NAME [LOCAL-DATA...]  a second validating unbound like dns.sh's (stub zones to
#                          the same nsd), with optional forged local-data RRs (typetransparent
#                          local zones: other names and types resolve normally); sets
#                          DNSP_ADDR to its address ADDR@PORT (the dns_resolver syntax)
#   dnsp_forged_nsd NAME ZONE 'RR'...  a second nsd serving every harness zone, except that ZONE
#                          is rebuilt with the given RRs added (an argument '!TEXT' drops the
#                          lines holding TEXT first) and re-signed with ZONE's own key:
#                          a validly signed lie (what a compromised path replaying another
#                          signed version would show); sets DNSP_ADDR
# (The functions set a variable rather than print, so they run in the test's own shell and
# what they start is stopped by its exit handler.)
#   dnsp_dead              an address where nobody answers (dns.sh's dead port)
#   dnsp_flush             flush the caches of every unbound started here (after dns_add_rr)
# Everything started is stopped at exit.

dnsp_dead() { echo "127.0.0.1@$DNS_DEAD_PORT"; }
_dnsp_confs=

dnsp_flush() {
	local c
	for c in $_dnsp_confs; do
		unbound-control -c "$c" flush_zone "$DNS_PARENT." >/dev/null 2>&1 &&
		unbound-control -c "$c" flush_bogus >/dev/null 2>&1 &&
		unbound-control -c "$c" flush_negative >/dev/null 2>&1 || return 1
	done
}

dnsp_unbound() {
	local name=$1 d port pid rr z
	DNSP_ADDR=
	shift
	d=$DNS_DIR/persp-$name
	mkdir -p "$d" || return 1
	port=$(h_free_port) || return 1
	{
		sed -e "s|interface: 127.0.0.1@$DNS_RESOLVER_PORT|interface: 127.0.0.1@$port|" \
			-e "s|  port: $DNS_RESOLVER_PORT|  port: $port|" \
			-e "s|pidfile: .*|pidfile: \"$d/unbound.pid\"|" \
			-e "s|logfile: .*|logfile: \"$d/unbound.log\"|" \
			-e "s|control-interface: .*|control-interface: \"$d/unbound.ctl\"|" \
			"$DNS_DIR/unbound.conf" | sed -n '/^remote-control:/q;p'
		for rr in "$@"; do
			z=${rr%% *}
			echo "  local-zone: \"$z\" typetransparent"
			echo "  local-data: '$rr'"
		done
		sed -n '/^remote-control:/,$p' "$DNS_DIR/unbound.conf" |
			sed "s|control-interface: .*|control-interface: \"$d/unbound.ctl\"|"
	} > "$d/unbound.conf"
	_dnsp_confs="$_dnsp_confs $d/unbound.conf"
	unbound -d -c "$d/unbound.conf" >> "$d/start.log" 2>&1 &
	pid=$!
	h_at_exit "kill $pid; wait $pid"
	h_wait 10 eval "h_udp_bound $port && h_port_listening $port" && h_pid_alive "$pid" ||
		{ h_die "unbound $name did not start: $(tail -n 5 "$d/start.log" "$d/unbound.log" 2>/dev/null)"; return 1; }
	h_wait 10 eval '[ -n "$(drill -p '"$port"' @127.0.0.1 '"$DNS_PARENT"' SOA 2>/dev/null | grep -w NOERROR)" ]' ||
		{ h_die "unbound $name does not answer"; return 1; }
	DNSP_ADDR=127.0.0.1@$port
}

dnsp_forged_nsd() {
	local name=$1 zone=${2%.} d port pid rr key
	DNSP_ADDR=
	shift 2
	d=$DNS_DIR/persp-$name
	mkdir -p "$d/zones" || return 1
	port=$(h_free_port) || return 1
	cp "$DNS_DIR"/zones/*.signed "$d/zones/" || return 1
	cp "$DNS_DIR/zones/$zone.zone" "$d/zones/$zone.zone" || return 1
	for rr in "$@"; do
		case $rr in
		!*) grep -v -- "${rr#!}" "$d/zones/$zone.zone" > "$d/zones/$zone.tmp" &&
			mv "$d/zones/$zone.tmp" "$d/zones/$zone.zone" ;;
		*) printf '%s\n' "$rr" >> "$d/zones/$zone.zone" ;;
		esac
	done
	key=$(cat "$DNS_DIR/keys/$zone.name")
	ldns-signzone -f "$d/zones/$zone.signed" "$d/zones/$zone.zone" "$key" >> "$d/start.log" 2>&1 ||
		{ h_die "signing the forged $zone failed"; return 1; }
	sed -e "s|ip-address: 127.0.0.1@$DNS_AUTH_PORT|ip-address: 127.0.0.1@$port|" \
		-e "s|  port: $DNS_AUTH_PORT|  port: $port|" \
		-e "s|zonesdir: .*|zonesdir: \"$d/zones\"|" \
		-e "s|zonelistfile: .*|zonelistfile: \"$d/nsd.zonelist\"|" \
		-e "s|xfrdir: .*|xfrdir: \"$d\"|" \
		-e "s|pidfile: .*|pidfile: \"$d/nsd.pid\"|" \
		-e "s|logfile: .*|logfile: \"$d/nsd.log\"|" \
		-e "s|control-interface: .*|control-interface: \"$d/nsd.ctl\"|" \
		"$DNS_DIR/nsd.conf" > "$d/nsd.conf"
	nsd -c "$d/nsd.conf" >> "$d/start.log" 2>&1 || { h_die "nsd $name did not start"; return 1; }
	h_wait 10 eval "h_udp_bound $port" && h_wait 5 test -s "$d/nsd.pid" ||
		{ h_die "nsd $name did not start: $(tail -n 5 "$d/start.log" "$d/nsd.log" 2>/dev/null)"; return 1; }
	pid=$(cat "$d/nsd.pid")
	h_at_exit "h_kill_pid $pid"
	DNSP_ADDR=127.0.0.1@$port
}
