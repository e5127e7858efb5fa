/* bench_decode - the cost of decoding one CheckRequest into the view:
 *   walk      codec_decode_check (straight from the wire)
 *   unpacked  codec_decode_check_unpacked (wire check + protobuf-c)
 * usage: bench_decode FRAME [iterations [walk|unpacked]]
 * FRAME is a gRPC frame (5-byte prefix + CheckRequest), as bench/
 * request_path.py writes it (benchlib.encode). Each run adds a tenth of
 * the iterations as warm-up; bench/decode_instr.sh turns two runs into
 * instructions per decode with callgrind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec_int.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_decode FRAME [iterations [walk|unpacked]]\n");
        return 2;
    }
    long iters = argc > 2 ? atol(argv[2]) : 100000;
    int unpacked = argc > 3 && strcmp(argv[3], "unpacked") == 0;
    static uint8_t frame[1 << 16];
    FILE *f = fopen(argv[1], "rb");
    size_t n = f ? fread(frame, 1, sizeof frame, f) : 0;
    if (f)
        fclose(f);
    if (n < 5) {
        fprintf(stderr, "%s: no gRPC frame\n", argv[1]);
        return 2;
    }
    long total = iters + iters / 10;
    size_t headers = 0;
    for (long i = 0; i < total; i++) {
        codec_check c;
        char err[128];
        int rc = unpacked ? codec_decode_check_unpacked(frame + 5, n - 5, NULL, &c, err, sizeof err)
                          : codec_decode_check(frame + 5, n - 5, NULL, &c, err, sizeof err);
        if (rc != 0) {
            fprintf(stderr, "decode: %s\n", err);
            return 1;
        }
        headers += c.view.n_headers;
        codec_check_free(&c);
    }
    printf("%ld decodes, %zu headers\n", total, headers);
    return 0;
}
