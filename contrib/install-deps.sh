#!/bin/sh
# Install every Debian 12 package autosmime needs to build, run its demo and run its tests.
# Run as root. Postfix is preseeded as "Local only" and is not started here: the tests and the
# demo start private instances of their own.
set -eu
export DEBIAN_FRONTEND=noninteractive

BUILD="autoconf automake make gcc pkg-config libc6-dev
  libmilter-dev libssl-dev libdb5.3-dev libspf2-dev libldns-dev
  libmicrohttpd-dev"
RUNTIME="openssl ca-certificates postfix
  libmicrohttpd12"
# PKCS#11 CA keys: the OpenSSL engine the CA signs through (used only with a token)
RUNTIME="$RUNTIME libengine-pkcs11-openssl"
TESTS="gpgsm gpg-agent libnss3-tools swaks nsd unbound ldnsutils bind9-dnsutils db5.3-util
  opendkim opendkim-tools valgrind procps iproute2 psmisc perl jq
  dovecot-core sasl2-bin libsasl2-modules clang libclang-rt-14-dev systemd
  dpkg-dev debhelper fakeroot lintian debootstrap rsyslog libnet-ssleay-perl
  curl"
# PKCS#11 CA keys: the token the tests make (SoftHSM2) and pkcs11-tool (opensc) for its keys
TESTS="$TESTS softhsm2 opensc"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps.sh: run as root (it calls apt-get)" >&2
	exit 1
fi
apt-get update -qq
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $BUILD $RUNTIME $TESTS >/dev/null
# Packages may start their daemons where an init system runs; tests use private instances.
for svc in postfix nsd unbound dovecot opendkim rsyslog; do
	if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps.sh: packages installed"
