/*
 * conf_table: the one definition of every autosmime configuration option.
 *
 * The parser, `-d`, and the test that keeps man/autosmime.conf.5 in step all read this table.
 * Adding an option means: a field in struct as_conf, a row here, an entry in the man page.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>

#include "common/conf.h"
#include "common/util.h"

#define MINUTE 60LL
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)
#define KIB 1024LL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

#define F(field) offsetof(struct as_conf, field)

static const char *const facility_words[] = { "mail", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7", "daemon", NULL };
static const char *const level_words[] = { "err", "warning", "notice", "info", "debug", NULL };
static const char *const fail_words[] = { "tempfail", "reject", "accept", NULL };
static const char *const unenrolled_words[] = { "pass", "tempfail", "reject", NULL };
static const char *const local_words[] = { "none", "envelope", NULL };
static const char *const encrypt_words[] = { "never", "when-possible", NULL };
static const char *const cipher_words[] = { "aes256-cbc", "aes256-gcm", NULL };
/* the engine's SMIMECapabilities words (smime_cap_parse) */
static const char *const capability_words[] = { "aes256-gcm", "aes128-gcm", "aes256-cbc",
	"aes192-cbc", "aes128-cbc", NULL };
static const char *const profile_words[] = { "mailbox", "sponsor", "organization", NULL };
static const char *const generation_words[] = { "strict", "multipurpose", NULL };
static const char *const key_words[] = { "ec-p256", "ec-p384", "rsa-2048", "rsa-3072",
	"rsa-4096", NULL };
static const char *const enc_key_words[] = { "same", "ec-p256", "ec-p384", "rsa-2048",
	"rsa-3072", "rsa-4096", NULL };

const struct as_conf_option as_conf_options[] = {
	/* daemon */
	{ "socket", AS_CONF_STRING, F(socket), "unix:" RUNSTATEDIR "/autosmime/autosmime.sock",
	  0, 0, NULL, "milter socket: unix:PATH, inet:PORT@HOST or inet6:PORT@HOST" },
	{ "user", AS_CONF_STRING, F(user), "autosmime", 0, 0, NULL,
	  "user the daemon runs as after it has created the socket" },
	{ "pid_file", AS_CONF_PATH, F(pid_file), RUNSTATEDIR "/autosmime/autosmime-milter.pid",
	  0, 0, NULL, "where the daemon writes its process id" },
	{ "socket_mode", AS_CONF_INT, F(socket_mode), "0660", 0, 0777, NULL,
	  "permissions of a unix socket, in octal" },
	{ "milter_timeout", AS_CONF_DURATION, F(milter_timeout), "300s", 1, HOUR, NULL,
	  "how long libmilter waits for the MTA before it gives up on a connection" },
	{ "on_error", AS_CONF_ENUM, F(on_error), "tempfail", 0, 0, fail_words,
	  "answer to the MTA when the milter fails internally; accept passes the mail unchanged" },
	/* logging */
	{ "syslog_facility", AS_CONF_ENUM, F(syslog_facility), "mail", 0, 0, facility_words,
	  "syslog facility of every log line" },
	{ "log_level", AS_CONF_ENUM, F(log_level), "info", 0, 0, level_words,
	  "lowest priority that is logged" },
	/* store and keys */
	{ "store_dir", AS_CONF_PATH, F(store_dir), LOCALSTATEDIR "/lib/autosmime/store", 0, 0, NULL,
	  "Berkeley DB environment directory (certificates, keys, challenges, audit log)" },
	{ "key_encryption_key_file", AS_CONF_PATH, F(key_encryption_key_file),
	  SYSCONFDIR "/autosmime/kek", 0, 0, NULL,
	  "0600 file holding the key that encrypts user private keys at rest" },
	{ "ca_passphrase_file", AS_CONF_PATH, F(ca_passphrase_file),
	  SYSCONFDIR "/autosmime/ca.pass", 0, 0, NULL,
	  "0600 file holding the passphrase of the CA private keys" },
	{ "crl_dir", AS_CONF_PATH, F(crl_dir), LOCALSTATEDIR "/lib/autosmime/crl", 0, 0, NULL,
	  "where autosmimectl crl writes the CRLs for a web server to publish" },
	{ "ca_base_url", AS_CONF_STRING, F(ca_base_url), "", 0, 0, NULL,
	  "http URL under which CRLs and CA certificates are published (CRL DP and AIA)" },
	{ "ca_domain", AS_CONF_STRING, F(ca_domain), "", 0, 0, NULL,
	  "the CA's domain as CAA issuemail records name it" },
	/* PKCS#11 CA keys */
	{ "ca_pkcs11_module", AS_CONF_PATH, F(ca_pkcs11_module), "", 0, 0, NULL,
	  "PKCS#11 module of the token holding CA keys; empty: the p11-kit proxy" },
	{ "ca_pkcs11_pin_file", AS_CONF_PATH, F(ca_pkcs11_pin_file), "", 0, 0, NULL,
	  "0600 file holding the user PIN of the token holding CA keys" },
	{ "ca_pkcs11_key_uri", AS_CONF_STRING, F(ca_pkcs11_key_uri), "", 0, 0, NULL,
	  "RFC 7512 URI of the token key that ca init, rotate and import take for the issuing CA" },
	/* who is local */
	{ "local_domains", AS_CONF_LIST, F(local_domains), "", 0, 0, NULL,
	  "domains whose senders get certificates and signed mail" },
	{ "internal_networks", AS_CONF_LIST, F(internal_networks), "127.0.0.0/8 ::1/128", 0, 0, NULL,
	  "client networks whose mail counts as outbound without SMTP authentication (signed only "
	  "as network_sender_map_file allows)" },
	{ "sender_map_file", AS_CONF_PATH, F(sender_map_file), "", 0, 0, NULL,
	  "table of SASL login to extra addresses that login may send as" },
	{ "network_sender_map_file", AS_CONF_PATH, F(network_sender_map_file), "", 0, 0, NULL,
	  "table of internal network to the From: addresses its unauthenticated mail may be signed as" },
	{ "local_submission_attribution", AS_CONF_ENUM, F(local_submission_attribution), "none", 0,
	  0, local_words, "sign sendmail(1) mail: none, or envelope (From: must be the envelope "
	  "sender that Postfix's local_login_sender_maps enforces)" },
	/* messages */
	{ "spool_dir", AS_CONF_PATH, F(spool_dir), "/var/tmp", 0, 0, NULL,
	  "directory for private temporary files of messages above memory_spool_limit" },
	{ "memory_spool_limit", AS_CONF_SIZE, F(memory_spool_limit), "1m", 4 * KIB, GIB, NULL,
	  "message size above which the body spools to a temporary file" },
	{ "message_size_limit", AS_CONF_SIZE, F(message_size_limit), "50m", 4 * KIB, 4 * GIB, NULL,
	  "largest message the milter transforms" },
	{ "oversize_action", AS_CONF_ENUM, F(oversize_action), "tempfail", 0, 0, fail_words,
	  "answer for a message above message_size_limit; accept passes it unsigned" },
	{ "sign", AS_CONF_BOOL, F(sign), "yes", 0, 0, NULL,
	  "sign outbound mail of enrolled senders" },
	{ "encrypt", AS_CONF_ENUM, F(encrypt), "when-possible", 0, 0, encrypt_words,
	  "encrypt when every recipient's certificate is known" },
	{ "cipher", AS_CONF_ENUM, F(cipher), "aes256-cbc", 0, 0, cipher_words,
	  "preferred content cipher; aes256-gcm (AuthEnvelopedData, RFC 5083) only when every "
	  "recipient, the sender's copy included, is known to read it" },
	{ "sender_capabilities", AS_CONF_LIST, F(sender_capabilities),
	  "aes256-cbc aes192-cbc aes128-cbc", 0, 0, capability_words,
	  "content ciphers the senders' mail clients read: advertised in their signatures "
	  "(SMIMECapabilities) and used for mail to local users; words aes256-gcm aes128-gcm "
	  "aes256-cbc aes192-cbc aes128-cbc" },
	{ "header_protection", AS_CONF_BOOL, F(header_protection), "no", 0, 0, NULL,
	  "copy From, To, Cc, Subject and Date into the signed entity" },
	{ "cert_cache_ttl", AS_CONF_DURATION, F(cert_cache_ttl), "5m", 0, DAY, NULL,
	  "how long a sender's key and certificate stay cached in memory" },
	/* enrolment */
	{ "enrol_address", AS_CONF_STRING, F(enrol_address), "", 0, 0, NULL,
	  "address that challenges come from and replies go to" },
	{ "enrol_domains", AS_CONF_LIST, F(enrol_domains), "", 0, 0, NULL,
	  "domains whose senders may enrol; empty means all local_domains" },
	{ "enrol_exclude", AS_CONF_LIST, F(enrol_exclude), "", 0, 0, NULL,
	  "mailboxes that never enrol" },
	{ "unenrolled_action", AS_CONF_ENUM, F(unenrolled_action), "pass", 0, 0, unenrolled_words,
	  "what happens to mail of a sender without a certificate" },
	{ "challenge_lifetime", AS_CONF_DURATION, F(challenge_lifetime), "24h", 5 * MINUTE, DAY, NULL,
	  "how long a challenge token stays valid" },
	{ "challenge_limit_hour", AS_CONF_INT, F(challenge_limit_hour), "3", 1, 100, NULL,
	  "challenges per mailbox per hour" },
	{ "challenge_limit_day", AS_CONF_INT, F(challenge_limit_day), "10", 1, 1000, NULL,
	  "challenges per mailbox per day" },
	{ "challenge_limit_global_hour", AS_CONF_INT, F(challenge_limit_global_hour), "1000", 1,
	  1000000, NULL, "challenges sent by the whole gateway per hour" },
	{ "challenge_limit_client_hour", AS_CONF_INT, F(challenge_limit_client_hour), "100", 1,
	  1000000, NULL, "challenges per hour for the mail of one SMTP client host (IPv6: its /64)" },
	{ "challenge_subject_prefix", AS_CONF_STRING, F(challenge_subject_prefix), "", 0, 0, NULL,
	  "human text put before ACME: <token> in the challenge subject" },
	{ "challenge_template_file", AS_CONF_PATH, F(challenge_template_file), "", 0, 0, NULL,
	  "file with the human text of the challenge mail; empty means the built-in text" },
	{ "validation_reuse", AS_CONF_DURATION, F(validation_reuse), "30d", 0, 30 * DAY, NULL,
	  "how long a mailbox validation may be reused for a new certificate" },
	{ "renew_before", AS_CONF_DURATION, F(renew_before), "30d", DAY, 365 * DAY, NULL,
	  "how long before expiry a certificate is renewed" },
	{ "sendmail_command", AS_CONF_STRING, F(sendmail_command), "/usr/sbin/sendmail -i -t", 0, 0,
	  NULL, "command that injects challenge and confirmation mail" },
	/* certificate profile */
	{ "profile", AS_CONF_ENUM, F(profile), "mailbox", 0, 0, profile_words,
	  "default certificate profile: mailbox-validated, sponsor-validated or organization-validated" },
	{ "generation", AS_CONF_ENUM, F(generation), "strict", 0, 0, generation_words,
	  "S/MIME Baseline Requirements generation of issued certificates" },
	{ "key_type", AS_CONF_ENUM, F(key_type), "ec-p256", 0, 0, key_words,
	  "key type of certificates the CA generates keys for" },
	{ "encryption_key_type", AS_CONF_ENUM, F(encryption_key_type), "rsa-2048", 0, 0,
	  enc_key_words, "CA-made keys get a signing certificate of key_type and an encryption "
	  "certificate of this type; same: one certificate for both" },
	{ "cert_validity", AS_CONF_DURATION, F(cert_validity), "365d", DAY, AS_CERT_MAX_DAYS * DAY,
	  NULL, "validity period of issued certificates (at most 824d)" },
	{ "domain_profiles", AS_CONF_LIST, F(domain_profiles), "", 0, 0, NULL,
	  "per-domain exceptions as DOMAIN=PROFILE[/KEY_TYPE[/VALIDITY]], e.g. example.org=sponsor/rsa-3072/730d" },
	{ "organization_name", AS_CONF_STRING, F(organization_name), "", 0, 0, NULL,
	  "subject O of sponsor- and organization-validated certificates" },
	{ "organization_identifier", AS_CONF_STRING, F(organization_identifier), "", 0, 0, NULL,
	  "subject organizationIdentifier, for example NTRGB-12345678" },
	{ "organization_country", AS_CONF_STRING, F(organization_country), "", 0, 0, NULL,
	  "subject C (two letters) of sponsor- and organization-validated certificates" },
	{ "sponsor_map_file", AS_CONF_PATH, F(sponsor_map_file), "", 0, 0, NULL,
	  "table of mailbox to given name and surname, built by autosmimectl sponsors import" },
	/* DNS and SPF */
	{ "dns_resolver", AS_CONF_STRING, F(dns_resolver), "", 0, 0, NULL,
	  "validating resolver as ADDR or ADDR@PORT (IPv4 or IPv6); empty means /etc/resolv.conf" },
	{ "dns_trust_anchor_file", AS_CONF_PATH, F(dns_trust_anchor_file), "/usr/share/dns/root.key",
	  0, 0, NULL, "DNSSEC trust anchor (DS or DNSKEY records)" },
	{ "caa_check", AS_CONF_BOOL, F(caa_check), "yes", 0, 0, NULL,
	  "check CAA issuemail records before issuance" },
	{ "spf_check", AS_CONF_BOOL, F(spf_check), "yes", 0, 0, NULL,
	  "check SPF of enrolment replies from unauthenticated internal hosts (a loopback client never passes)" },
	{ "allow_internal_unauthenticated", AS_CONF_BOOL, F(allow_internal_unauthenticated), "no", 0,
	  0, NULL, "accept enrolment replies from internal hosts without SMTP authentication" },
	/* inbound */
	{ "authserv_id", AS_CONF_STRING, F(authserv_id), "", 0, 0, NULL,
	  "authentication service identifier in Authentication-Results; empty means the host name" },
	{ "inbound_verify", AS_CONF_BOOL, F(inbound_verify), "yes", 0, 0, NULL,
	  "verify signed mail to local recipients" },
	{ "inbound_decrypt", AS_CONF_BOOL, F(inbound_decrypt), "yes", 0, 0, NULL,
	  "decrypt mail to local recipients enveloped to a key the gateway holds" },
	{ "harvest_certificates", AS_CONF_BOOL, F(harvest_certificates), "yes", 0, 0, NULL,
	  "store valid signer certificates of inbound mail for later encryption" },
	{ "smimea_lookup", AS_CONF_BOOL, F(smimea_lookup), "no", 0, 0, NULL,
	  "look up recipient certificates in DNSSEC-secure SMIMEA records" },
	{ "trust_anchor_file", AS_CONF_PATH, F(trust_anchor_file), "/etc/ssl/certs/ca-certificates.crt",
	  0, 0, NULL, "trusted root certificates for verifying inbound signatures" },
	{ "trust_anchor_dir", AS_CONF_PATH, F(trust_anchor_dir), "", 0, 0, NULL,
	  "directory of extra trusted roots (*.pem, *.crt) the admin imported" },
	{ "crl_check", AS_CONF_BOOL, F(crl_check), "yes", 0, 0, NULL,
	  "check inbound signers, every CA above them and recipient certificates' chains against "
	  "their CRLs" },
	{ "crl_cache_dir", AS_CONF_PATH, F(crl_cache_dir), LOCALSTATEDIR "/lib/autosmime/crl-cache",
	  0, 0, NULL, "where fetched CRLs (and in issuers/ the CA certificates of verified chains) "
	  "are cached; empty keeps them in memory only" },
	{ "crl_fetch_timeout", AS_CONF_DURATION, F(crl_fetch_timeout), "10s", 1, 5 * MINUTE, NULL,
	  "longest time one CRL download may take" },
	{ "crl_wait", AS_CONF_DURATION, F(crl_wait), "2s", 0, MINUTE, NULL,
	  "how long a message waits in all for the CRLs of a signer's chain not yet fetched before "
	  "it gets smime=temperror" },
	/* OCSP responder (autosmime-ocspd) */
	{ "ocsp_url", AS_CONF_STRING, F(ocsp_url), "", 0, 0, NULL,
	  "http URL of the OCSP responder put in issued certificates (AIA id-ad-ocsp); empty: no OCSP" },
	{ "ocsp_listen", AS_CONF_STRING, F(ocsp_listen), "127.0.0.1:8080", 0, 0, NULL,
	  "ADDR:PORT (IPv6 as [ADDR]:PORT) autosmime-ocspd serves HTTP on" },
	{ "ocsp_validity", AS_CONF_DURATION, F(ocsp_validity), "4d", 8 * HOUR, 10 * DAY, NULL,
	  "nextUpdate minus thisUpdate of OCSP responses; re-signed after half, at most 4 days" },
	{ "ocsp_responder_validity", AS_CONF_DURATION, F(ocsp_responder_validity), "30d", 2 * DAY,
	  90 * DAY, NULL, "validity of the delegated OCSP responder certificates; renewed after half" },
	{ "ocsp_cache_size", AS_CONF_INT, F(ocsp_cache_size), "10000", 16, 1000000, NULL,
	  "signed OCSP responses autosmime-ocspd keeps ready" },
	{ "ocsp_connections", AS_CONF_INT, F(ocsp_connections), "256", 1, 65536, NULL,
	  "concurrent HTTP connections autosmime-ocspd accepts" },
	/* domain control validation and multi-perspective DNS (issue 16) */
	{ "dns_perspectives", AS_CONF_LIST, F(dns_perspectives), "", 0, 0, NULL,
	  "resolvers (ADDR or ADDR@PORT each) that CAA, domain TXT and DNSSEC checks are asked of; "
	  "empty: dns_resolver alone" },
	{ "dns_perspective_quorum", AS_CONF_INT, F(dns_perspective_quorum), "0", 0, 8, NULL,
	  "how many dns_perspectives must agree; 0 means a majority" },
	{ "domain_validation_reuse", AS_CONF_DURATION, F(domain_validation_reuse), "398d", 1,
	  398 * DAY, NULL, "how long a domain control validation (autosmimectl domain validate) "
	  "lets organization-validated certificates be issued (at most 398d)" },
};

const size_t as_conf_option_count = sizeof(as_conf_options) / sizeof(as_conf_options[0]);
