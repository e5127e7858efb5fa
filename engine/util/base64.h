/* base64.h - base64 encoding and decoding (standard and URL-safe). */
#ifndef PC_UTIL_BASE64_H
#define PC_UTIL_BASE64_H
#include <stddef.h>

/* Standard alphabet with padding; NUL-terminated; caller frees. */
char *b64_encode(const void *src, size_t n, size_t *outlen);
/* Strict: the standard (or, with url, URL-safe) alphabet, padded or not,
 * line breaks skipped. NULL on any invalid input. The result has a NUL
 * after its *outlen bytes; caller frees. */
unsigned char *b64_decode(const char *src, size_t n, int url, size_t *outlen);
/* Authorino's @base64:decode: padded, then unpadded, then URL-safe; keeps
 * the bytes decoded before a fault rather than failing. */
unsigned char *b64_decode_lenient(const char *src, size_t n, size_t *outlen);
#endif
