/*
 * mime_decode: the small, bounded decoders the reply parser needs: quoted-printable, base64,
 * RFC 2047 encoded-words, and a crude HTML-to-text pass. Each writes at most `cap` bytes and
 * returns how many it wrote; input that does not decode is copied or skipped, never fatal.
 * Charsets are not converted: tokens are ASCII, which UTF-8 and ISO-8859-x share.
 */
#ifndef AUTOSMIME_POLICY_MIME_DECODE_H
#define AUTOSMIME_POLICY_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>

/* Quoted-printable (RFC 2045 6.7); in header mode (RFC 2047 "Q") '_' means a space. */
size_t as_qp_decode(const char *in, size_t len, char *out, size_t cap, bool header);

/* Base64 (RFC 2045 6.8); characters outside the alphabet are skipped, '=' ends the data. */
size_t as_b64_decode(const char *in, size_t len, char *out, size_t cap);

/*
 * Decode every RFC 2047 encoded-word (=?charset?B|Q?text?=) of an unfolded header value;
 * white space between two adjacent encoded-words is dropped, other text is copied.
 */
size_t as_rfc2047_decode(const char *in, size_t len, char *out, size_t cap);

/* Drop tags, comments and <head>/<style>/<script>; decode a few entities; <br>/<p> break lines. */
size_t as_html_to_text(const char *in, size_t len, char *out, size_t cap);

#endif
