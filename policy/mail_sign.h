/*
 * mail_sign: S/MIME signing (RFC 8551 multipart/signed, detached CMS SignedData) of a mail the
 * gateway writes itself, so that users can tell its challenge and confirmation from imitations.
 * policy/ may not call the milter's engine, and this mail is small and built in memory: the
 * message in, the signed message out, both with LF line ends for a local sendmail.
 */
#ifndef AUTOSMIME_POLICY_MAIL_SIGN_H
#define AUTOSMIME_POLICY_MAIL_SIGN_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * Sign the len bytes of msg (headers, an empty line, body). The MIME headers (Content-*) move
 * into the signed part, the others stay on top; the signature carries cert and chain. *out is
 * malloc'd and NUL-terminated; wipe it when the message holds a secret. 0 or -1 with err.
 */
int as_mail_sign(const char *msg, size_t len, X509 *cert, EVP_PKEY *key, STACK_OF(X509) *chain,
    char **out, size_t *outlen, char *err, size_t errcap);

#endif
