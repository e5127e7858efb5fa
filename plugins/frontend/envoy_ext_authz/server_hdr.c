#include "server_hdr.h"

#include <string.h>

int srv_hdr_is(const char *name, size_t nlen, const char *lower)
{
    size_t i = 0;
    for (; i < nlen; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (lower[i] == '\0' || c != lower[i])
            return 0;
    }
    return lower[i] == '\0';
}

static int srv_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int srv_hdr_allowed(const char *name, size_t nlen, const char *value,
                    size_t vlen)
{
    static const char *const reserved[] = {
        "content-length", "transfer-encoding", "connection", "keep-alive",
        "proxy-connection", "upgrade", "te", "trailer",
        "grpc-status", "grpc-message", NULL};
    if (nlen == 0)
        return 0;
    for (size_t i = 0; i < nlen; i++)
        if (!srv_tchar((unsigned char)name[i]))
            return 0;
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c == '\r' || c == '\n' || c == '\0')
            return 0;
    }
    for (size_t i = 0; reserved[i]; i++)
        if (srv_hdr_is(name, nlen, reserved[i]))
            return 0;
    return 1;
}
