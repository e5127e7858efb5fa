/*
 * codec_encode_ref.h - the reference CheckResponse encoder (protobuf-c's
 * packer over a message tree) that codec_encode_check_response must match
 * byte for byte. Same contract as codec_encode_check_response (codec.h).
 */
#ifndef PC_TEST_CODEC_ENCODE_REF_H
#define PC_TEST_CODEC_ENCODE_REF_H

#include "codec.h"

int codec_encode_check_response_ref(const pc_verdict *v, const pc_host *host,
                                    int v2, codec_buf *out);

#endif
