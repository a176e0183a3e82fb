/*
 * conf: the autosmime configuration, shared by autosmime-milter and autosmimectl.
 *
 * Every option is defined once, in conf_table.c (name, type, default, bounds, help). The parser
 * fills a struct as_conf from that table; the struct is a per-process snapshot that callers
 * treat as read-only (SIGHUP builds a new one and swaps it in).
 */
#ifndef AUTOSMIME_CONF_H
#define AUTOSMIME_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define AS_CONF_DEFAULT_PATH SYSCONFDIR "/autosmime/autosmime.conf"

/* Bounds of hostile input: a config line and a list are never longer than this. */
#define AS_CONF_MAX_LINE 4096
#define AS_CONF_MAX_LIST 1024

enum as_conf_type {
	AS_CONF_BOOL,     /* yes|no|true|false|on|off|1|0 */
	AS_CONF_INT,      /* decimal, 0x hex or 0 octal, within [min, max] */
	AS_CONF_DURATION, /* number with optional s, m, h, d, w suffix; stored in seconds */
	AS_CONF_SIZE,     /* number with optional k, m, g suffix (powers of 1024); stored in bytes */
	AS_CONF_STRING,
	AS_CONF_PATH,     /* an absolute path */
	AS_CONF_LIST,     /* words separated by white space or commas */
	AS_CONF_ENUM,     /* one of a fixed set of words; stored as its index */
};

struct as_conf_list {
	char **item;
	size_t count;
};

/* Enumerations; the word lists in conf_table.c follow the same order. */
enum as_facility { AS_FAC_MAIL, AS_FAC_LOCAL0, AS_FAC_LOCAL1, AS_FAC_LOCAL2, AS_FAC_LOCAL3,
	AS_FAC_LOCAL4, AS_FAC_LOCAL5, AS_FAC_LOCAL6, AS_FAC_LOCAL7, AS_FAC_DAEMON };
enum as_log_level { AS_LEVEL_ERR, AS_LEVEL_WARNING, AS_LEVEL_NOTICE, AS_LEVEL_INFO, AS_LEVEL_DEBUG };
enum as_fail_action { AS_ACT_TEMPFAIL, AS_ACT_REJECT, AS_ACT_ACCEPT };
enum as_local_attribution { AS_LOCAL_NONE, AS_LOCAL_ENVELOPE };
enum as_unenrolled_action { AS_UNENROLLED_PASS, AS_UNENROLLED_TEMPFAIL, AS_UNENROLLED_REJECT };
enum as_encrypt_mode { AS_ENCRYPT_NEVER, AS_ENCRYPT_WHEN_POSSIBLE };
enum as_cipher { AS_CIPHER_AES256_CBC, AS_CIPHER_AES256_GCM };
enum as_profile { AS_PROFILE_MAILBOX, AS_PROFILE_SPONSOR, AS_PROFILE_ORGANIZATION };
enum as_generation { AS_GEN_STRICT, AS_GEN_MULTIPURPOSE };
enum as_key_type { AS_KEY_EC_P256, AS_KEY_EC_P384, AS_KEY_RSA2048, AS_KEY_RSA3072, AS_KEY_RSA4096 };

/* One field per option in conf_table.c; durations in seconds, sizes in bytes. */
struct as_conf {
	/* daemon */
	char *socket;
	char *user;
	char *pid_file;
	long long socket_mode;
	long long milter_timeout;
	int on_error;
	/* logging */
	int syslog_facility;
	int log_level;
	/* store and keys */
	char *store_dir;
	char *key_encryption_key_file;
	char *ca_passphrase_file;
	char *crl_dir;
	char *ca_base_url;
	char *ca_domain;
	/* PKCS#11 CA keys */
	char *ca_pkcs11_module;
	char *ca_pkcs11_pin_file;
	char *ca_pkcs11_key_uri;
	/* who is local */
	struct as_conf_list local_domains;
	struct as_conf_list internal_networks;
	char *sender_map_file;
	char *network_sender_map_file;
	int local_submission_attribution;  /* enum as_local_attribution */
	/* messages */
	char *spool_dir;
	long long memory_spool_limit;
	long long message_size_limit;
	int oversize_action;
	bool sign;
	int encrypt;
	int cipher;
	struct as_conf_list sender_capabilities;
	bool header_protection;
	long long cert_cache_ttl;
	/* enrolment */
	char *enrol_address;
	struct as_conf_list enrol_domains;
	struct as_conf_list enrol_exclude;
	int unenrolled_action;
	long long challenge_lifetime;
	long long challenge_limit_hour;
	long long challenge_limit_day;
	long long challenge_limit_global_hour;
	long long challenge_limit_client_hour;
	char *challenge_subject_prefix;
	char *challenge_template_file;
	long long validation_reuse;
	long long renew_before;
	char *sendmail_command;
	/* certificate profile */
	int profile;
	int generation;
	int key_type;
	int encryption_key_type;  /* 0 "same", else the key word after it */
	long long cert_validity;
	struct as_conf_list domain_profiles;
	char *organization_name;
	char *organization_identifier;
	char *organization_country;
	char *sponsor_map_file;
	/* DNS and SPF */
	char *dns_resolver;
	char *dns_trust_anchor_file;
	bool caa_check;
	bool spf_check;
	bool allow_internal_unauthenticated;
	/* inbound */
	char *authserv_id;
	bool inbound_verify;
	bool inbound_decrypt;
	bool harvest_certificates;
	bool smimea_lookup;
	char *trust_anchor_file;
	char *trust_anchor_dir;
	bool crl_check;
	char *crl_cache_dir;
	long long crl_fetch_timeout;
	long long crl_wait;
	/* OCSP responder (autosmime-ocspd) */
	char *ocsp_url;
	char *ocsp_listen;
	long long ocsp_validity;
	long long ocsp_responder_validity;
	long long ocsp_cache_size;
	long long ocsp_connections;
	/* domain control validation and multi-perspective DNS (issue 16) */
	struct as_conf_list dns_perspectives;
	long long dns_perspective_quorum;   /* 0: a majority of dns_perspectives */
	long long domain_validation_reuse;
};

struct as_conf_option {
	const char *name;
	enum as_conf_type type;
	size_t offset;              /* of the field in struct as_conf */
	const char *default_value;  /* parsed like a value from the file; "" means empty/unset */
	long long min, max;         /* bounds for INT, DURATION and SIZE */
	const char *const *words;   /* NULL-terminated: ENUM's words, or what a LIST's items may be */
	const char *help;
};

extern const struct as_conf_option as_conf_options[];
extern const size_t as_conf_option_count;

/* Error text for the caller to print; holds "file:line: message". */
struct as_conf_error {
	char text[512];
};

/* A struct as_conf with every default applied. Returns NULL only when memory runs out. */
struct as_conf *as_conf_defaults(void);

/*
 * Read `path` over the defaults. On failure returns NULL and fills `err` with file:line and
 * the reason; the first error stops the parse so that no partial configuration is used.
 */
struct as_conf *as_conf_load(const char *path, struct as_conf_error *err);

/* Parse from an open stream; `name` is used in error messages. */
struct as_conf *as_conf_load_stream(FILE *fp, const char *name, struct as_conf_error *err);

/* Check settings that depend on each other (run after a load). Returns 0 or -1 with err. */
int as_conf_check(const struct as_conf *conf, const char *name, struct as_conf_error *err);

/* Print the effective configuration as `name value` lines that the parser reads back. */
void as_conf_dump(const struct as_conf *conf, FILE *out);

/* Look up an option by name; NULL when unknown. */
const struct as_conf_option *as_conf_find(const char *name);

/* The word of an enum option's current value, for printing. */
const char *as_conf_enum_word(const char *option_name, int value);

void as_conf_free(struct as_conf *conf);

/* The index of `word` among an enum option's words, or -1. */
int as_conf_enum_index(const char *option_name, const char *word);

/* Parse a duration ("30d", "3600") as the parser does. Returns 0, or -1 with *why set. */
int as_conf_parse_duration(const char *text, long long *out, const char **why);

/* A number as an option of `type` takes it: an int (C base prefixes), a duration (s m h d w)
 * or a size (k m g). Returns 0, or -1 with *why set. */
int as_conf_parse_number(const char *text, enum as_conf_type type, long long *out,
    const char **why);

/* Does the list hold `word` (case-insensitive, as domains and addresses compare)? */
bool as_conf_list_has(const struct as_conf_list *list, const char *word);

#endif
