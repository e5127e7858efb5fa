#ifndef PC_INDEX_HOSTIDX_H
#define PC_INDEX_HOSTIDX_H
/* hostidx: maps the hosts of AuthConfigs to a value (an AuthConfig of a
 * config snapshot). Built once per snapshot on the control thread, then
 * read concurrently by every worker; lookups never allocate.
 *
 * Host forms accepted by hostidx_add:
 *   exact       "api.example.com", "svc:8080", "[::1]:8000", "10.0.0.1"
 *   wildcard    "*.example.com" (also "*.example.com:8080"): any host with one or
 *               more labels in front of ".example.com"
 *   catch-all   "*"
 *
 * Lookup order for a request host:
 *   1. the exact host;
 *   2. the most specific covering wildcard: for "a.b.example.com" first
 *      "*.b.example.com", then "*.example.com", then "*.com";
 *   3. the catch-all "*";
 *   4. when nothing matched and the host ends in a port (":NNN" after the last
 *      label, so "[::1]:8000" has one but "::1" and "[::1]" do not), steps 1-3
 *      again without the port.
 * Note that step 3 comes before step 4, as in Authorino: with "*" linked,
 * "api.example.com:8080" goes to the catch-all even when "api.example.com"
 * is linked. Link the host with its port as well to avoid that.
 *
 * Differences from Authorino's label tree, on purpose:
 *   - ASCII letters match case-insensitively (DNS names are case-insensitive and
 *     Envoy passes the Host header through as sent); Authorino is case-sensitive.
 *   - "*.a.com" does not match the apex "a.com" (as in DNS and TLS certificates);
 *     Authorino's tree does. Link "a.com" too when the apex is wanted.
 *   - The port fallback understands bracketed IPv6 literals; Authorino cuts at
 *     the first ':', which mangles them.
 * Hosts longer than HOSTIDX_MAX_HOST bytes are refused by hostidx_add and never
 * match a lookup. */
#include <stddef.h>

#define HOSTIDX_MAX_HOST 255

typedef struct hostidx hostidx;

hostidx *hostidx_new(void);
void hostidx_free(hostidx *idx);

/* Links host -> value (value must not be NULL). Returns 0 when linked; 1 when
 * the same host (compared case-insensitively) is already linked: the first one
 * wins, and its value goes to *existing if existing is not NULL; -1 on an
 * invalid host (empty, a '*' other than a leading "*." or a lone "*", empty
 * labels, spaces or control characters, an unbalanced '[', longer than
 * HOSTIDX_MAX_HOST) or when out of memory. A wildcard that covers an already
 * linked host is not a conflict: the more specific entry wins at lookup. */
int hostidx_add(hostidx *idx, const char *host, void *value, void **existing);

/* The value for host[0..len), or NULL. See the lookup order above. */
void *hostidx_lookup(const hostidx *idx, const char *host, size_t len);

/* Number of linked hosts (exact, wildcard and catch-all). */
size_t hostidx_count(const hostidx *idx);

#endif
