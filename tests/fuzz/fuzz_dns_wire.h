/*
 * fuzz_dns_wire: a DNS server on 127.0.0.1 inside the fuzz process, so that the validator
 * (policy/dnssec.c) is driven through its real resolver and ldns's own wire code. Each query
 * is answered with the next packet of a sequence, its ID set to the query's; when the sequence
 * is used up, or in record mode, the server behaves as below. Sequences are stored as records
 * of a 2-byte big-endian length and that many bytes.
 *
 * Lifetime: one server per process (a thread that runs until exit).
 */
#ifndef AUTOSMIME_FUZZ_DNS_WIRE_H
#define AUTOSMIME_FUZZ_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Start the server; returns the port, or aborts. With `upstream` ("ADDR@PORT") every query
 * is forwarded there and the answer recorded (see fuzz_dns_wire_take). */
int fuzz_dns_wire_start(const char *upstream);

/* Answer the next queries from this sequence (borrowed until the next call); past its end
 * every query gets REFUSED at once, so a short input never waits for a timeout. */
void fuzz_dns_wire_replay(const uint8_t *seq, size_t len);

/* Record mode: the answers recorded since the last call, as a sequence (caller frees). */
uint8_t *fuzz_dns_wire_take(size_t *len);

#endif
