/*
 * codec_health.c - grpc.health.v1.Health messages.
 */
#include <stdalign.h>
#include <string.h>
#include "codec_int.h"
#include "grpc/health/v1/health.pb-c.h"

int codec_decode_health_request(const uint8_t *buf, size_t len,
                                char *service, size_t cap)
{
    static const uint8_t empty[1];
    if (!service || cap == 0)
        return CODEC_EINVAL;
    service[0] = '\0';
    if (!buf)
        buf = empty, len = 0;
    long items = CODEC_MAX_ITEMS;
    if (codec_wire_check(&grpc__health__v1__health_check_request__descriptor,
                         buf, len, CODEC_MAX_DEPTH, &items) != 0)
        return CODEC_EPARSE;
    /* A request is one short string: a stack arena is plenty, and the
     * arena grows to the heap only for an odd, oversized message. */
    alignas(max_align_t) unsigned char stack[1024];
    codec_arena ar;
    codec_arena_init_on(&ar, stack, sizeof stack);
    ProtobufCAllocator al = codec_arena_allocator(&ar);
    Grpc__Health__V1__HealthCheckRequest *req =
        grpc__health__v1__health_check_request__unpack(&al, len, buf);
    int rc = CODEC_EPARSE;
    if (req) {
        size_t n = strlen(req->service);
        rc = n < cap ? 0 : CODEC_ETOOBIG;
        if (rc == 0)
            memcpy(service, req->service, n + 1);
    }
    codec_arena_free(&ar);
    return rc;
}

codec_health_status codec_health_status_for(const char *service, int ready)
{
    static const char *const known[] = {
        "",
        "envoy.service.auth.v3.Authorization",
        "envoy.service.auth.v2.Authorization",
    };
    if (!service)
        service = "";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(service, known[i]) == 0)
            return ready ? CODEC_HEALTH_SERVING : CODEC_HEALTH_NOT_SERVING;
    return CODEC_HEALTH_SERVICE_UNKNOWN;
}

int codec_encode_health_response(codec_health_status status, codec_buf *out)
{
    if (!out || status < CODEC_HEALTH_UNKNOWN ||
        status > CODEC_HEALTH_SERVICE_UNKNOWN)
        return CODEC_EINVAL;
    Grpc__Health__V1__HealthCheckResponse resp =
        GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
    return codec_pack_grpc(&resp.base, out);
}
