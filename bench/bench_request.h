/* bench_request.h - the CheckRequest (proto3 JSON) the engine benchmarks
 * decide: a GET from 10.0.0.7 with six headers and `extra` after them
 * (",\"authorization\":..." for the apiKey pipelines). */
#ifndef PC_BENCH_REQUEST_H
#define PC_BENCH_REQUEST_H
#define REQ(host, extra)                                                              \
    "{\"attributes\":{\"source\":{\"address\":{\"socketAddress\":{\"address\":"     \
    "\"10.0.0.7\",\"portValue\":41000}}},\"request\":{\"http\":{\"id\":\"1\","      \
    "\"method\":\"GET\",\"path\":\"/pets/42\",\"host\":\"" host "\",\"scheme\":"     \
    "\"http\",\"protocol\":\"HTTP/1.1\",\"headers\":{\":authority\":\"" host "\","   \
    "\":method\":\"GET\",\":path\":\"/pets/42\",\"user-agent\":\"bench/1\","         \
    "\"accept\":\"*/*\",\"x-request-id\":\"d1b2c3\"" extra "}}}}}"
#endif
