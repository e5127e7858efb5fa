/*
 * server.h - the frontend's I/O core: configuration, event loops,
 * connections and requests handed to the engine.
 *
 * Threads: the control thread runs create/start/stop/destroy. Each I/O thread
 * runs one libuv loop with its own SO_REUSEPORT listeners; a connection and
 * everything hanging off it (protocol state, streams, pending requests)
 * belongs to one loop and is touched only on that loop's thread. Verdicts
 * that arrive on worker threads are encoded there and handed to the loop
 * through a mutex-protected queue and a uv_async_t.
 */
#ifndef PC_EXTAUTHZ_SERVER_H
#define PC_EXTAUTHZ_SERVER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <uv.h>

#include <portcullis/host.h>
#include <portcullis/request.h>

#include "server_buf.h"
#include "server_stats.h"

#define SRV_WHO "envoy_ext_authz"

/* ---- configuration (server_config.c) ---- */

typedef enum srv_port {
    SRV_PORT_GRPC = 0,
    SRV_PORT_HTTP = 1,
    SRV_PORT_ADMIN = 2,  /* metrics, and the probes too */
    SRV_PORT_HEALTH = 3, /* probes only; off when it is the admin address */
    SRV_PORT_COUNT_ = 4
} srv_port;

typedef struct srv_addr {
    int enabled;
    struct sockaddr_storage ss;
    socklen_t len;
    char text[96]; /* as configured, for logs and errors */
} srv_addr;

/* HTTP/1.1 limits and timeouts (h1_conn.c); 0 timeouts mean "never". */
typedef struct srv_h1_config {
    int64_t max_header_bytes;   /* request line + headers: 431 */
    int64_t max_headers;        /* header lines: 431 */
    int64_t max_line_bytes;     /* request line: 414 */
    int64_t max_pipelined;      /* requests in flight per connection */
    int64_t header_timeout_ms;  /* first byte (or accept) to end of head */
    int64_t body_timeout_ms;    /* end of head to end of body */
    int64_t admin_idle_timeout_ms; /* admin port, between requests */
} srv_h1_config;

typedef struct srv_config {
    srv_addr addr[SRV_PORT_COUNT_];
    int io_threads;
    char *tls_cert, *tls_key, *tls_client_ca; /* NULL when unset */
    int tls_min_version;                      /* TLS1_2_VERSION or TLS1_3_VERSION */
    size_t max_message_bytes;
    size_t max_http_body_bytes;
    int64_t idle_timeout_ms;
    uint32_t max_concurrent_streams;
    int64_t default_timeout_ms;
    char *http_path_prefix; /* "" when unset */
    /* CheckRequest decoding (codec_decode_opts) */
    int max_metadata_depth;
    srv_h1_config h1;
    /* Bounds on what clients can make the server hold (server_config.c
     * has the defaults; docs/configuration.md lists them). */
    size_t memory_budget_bytes;         /* all connections together */
    size_t max_connection_buffer_bytes; /* request bytes one connection holds */
    size_t max_connection_output_bytes; /* unsent output before reading stops */
    int64_t handshake_timeout_ms;       /* TLS handshake, preface, first bytes */
    int64_t stream_idle_timeout_ms;     /* an HTTP/2 stream without frames */
    long max_pipelines_in_flight;       /* requests submitted, not decided */
} srv_config;

/** Fills cfg from the frontend's JSON config (NULL = all defaults).
 *  -1 with a one-line reason in err. */
int srv_config_parse(const pc_host *host, const pc_value *config,
                     srv_config *cfg, char *err, size_t errlen);
void srv_config_free(srv_config *cfg);
/** Parses "HOST:PORT" / "[V6]:PORT"; "" or port 0 leaves it disabled. */
int srv_addr_parse(const char *text, srv_addr *out, char *err, size_t errlen);

/* ---- objects ---- */

typedef struct srv_fe srv_fe;
typedef struct srv_loop srv_loop;
typedef struct srv_conn srv_conn;
typedef struct srv_req srv_req;
typedef struct tls_server tls_server;
typedef struct tls_conn tls_conn;

/** What a protocol does with a connection. The core calls these on the
 *  loop thread; none may free the connection (they return -1 or call
 *  srv_conn_close instead). */
typedef struct srv_proto {
    const char *name;
    /** Plaintext from the peer. -1 closes the connection once what is
     *  already queued (a GOAWAY, a 400) is written. */
    int (*on_data)(srv_conn *c, const uint8_t *data, size_t len);
    /** Room in the output buffer again: produce more (h2) or resume
     *  parsing (h1). */
    void (*on_drain)(srv_conn *c);
    /** Right before queued output is written: serialise pending frames
     *  (h2), as long as the output is not congested. May be NULL. */
    void (*produce)(srv_conn *c);
    /** The peer closed its side. */
    void (*on_eof)(srv_conn *c);
    /** A verdict reached this connection; r->reply holds it. */
    void (*deliver)(srv_conn *c, srv_req *r);
    /** r's deadline passed before its verdict. */
    void (*on_timeout)(srv_conn *c, srv_req *r);
    /** Graceful shutdown: phase 1 announces (GOAWAY notice), phase 2
     *  refuses new work; the core closes once the output is flushed and
     *  no request is pending. */
    void (*shutdown)(srv_conn *c, int phase);
    /** 1 when the connection may be closed now without losing a reply. */
    int (*idle)(srv_conn *c);
    void (*free)(srv_conn *c);
    /** Periodic check (about once a second): stream timeouts. May be NULL. */
    void (*sweep)(srv_conn *c, uint64_t now_ms);
    /** 1: the connection stays under the handshake timeout until the
     *  protocol calls srv_conn_established (HTTP/2: the client preface);
     *  0: until the first plaintext bytes arrive. */
    int greeting;
} srv_proto;

/** A reply ready for a protocol to write, made on any thread. Strings point
 *  into arena. */
typedef struct srv_reply {
    int status;              /* HTTP :status */
    pc_header *headers;      /* response headers (lowercase names) */
    size_t n_headers;
    const char *content_type; /* NULL = none */
    uint8_t *body;           /* DATA: a framed gRPC message or an HTTP body */
    size_t body_len;
    int grpc;                /* 1: end with trailers grpc-status/message */
    int grpc_status;
    const char *grpc_message; /* already percent-encoded, or NULL */
    int64_t done_ns;         /* when it was decided, if on the loop thread
                                right before delivery; else 0 */
    srv_arena arena;
} srv_reply;

int srv_reply_header(srv_reply *rp, const char *name, const char *value,
                     size_t vlen);
int srv_reply_body(srv_reply *rp, const void *data, size_t len);
void srv_reply_free(srv_reply *rp);

/** How a request's verdict is rendered: each service that hands requests to
 *  the engine registers one (h2_grpc.c: the Check methods, v3 and v2;
 *  server_httpauthz.c: HTTP authorization over h1 or h2). */
typedef struct srv_req_ops {
    const char *name;
    /** Any thread: the verdict into r->reply. -1: the protocol answers
     *  with an internal error instead. */
    int (*render)(srv_req *r, const pc_verdict *v);
} srv_req_ops;

/** One request handed to the engine. Owned by its loop: created and freed
 *  there, except that a worker frees it when the loop has already closed. */
struct srv_req {
    srv_loop *loop;          /* immutable */
    const srv_req_ops *ops;  /* immutable */
    int64_t start_ns;        /* immutable */
    /* loop-thread state */
    srv_conn *conn;          /* NULL once the connection went away */
    srv_req *conn_prev, *conn_next;
    void *proto_ref;         /* the h2 stream or h1 slot waiting for it */
    uv_timer_t *deadline;    /* NULL when none */
    int replied_early;       /* the protocol already answered (timeout) */
    int counted;             /* holds one of fe->pipelines until done */
    atomic_int gone;         /* nobody waits for the verdict: stop early */
    /* written by whoever runs done, read on the loop after the queue */
    srv_req *q_next;
    srv_reply reply;
    /* A raw /check call that is a Kubernetes AdmissionReview: its
     * request.uid (in reply.arena), else NULL (server_admission.c). */
    const char *admission_uid;
};

struct srv_conn {
    srv_loop *loop;
    srv_port port;
    uv_tcp_t tcp;
    uv_timer_t idle_timer;
    int handles_open;
    srv_conn *prev, *next;   /* loop->conns */
    srv_conn *dirty_next;
    int dirty;
    const srv_proto *proto;  /* NULL while sniffing or in a TLS handshake */
    void *pstate;
    tls_conn *tls;
    srv_buf out;             /* bytes waiting for uv_write */
    srv_buf wbuf;            /* bytes of the uv_write in flight */
    uv_write_t wreq;
    int writing;
    int read_block;          /* SRV_BLOCK_* reasons not to read now */
    int reading;             /* uv_read_start is in effect */
    int closing;             /* close once output is flushed */
    int closed;              /* uv_close called */
    int shut_phase;          /* last shutdown phase sent */
    int established;         /* past the handshake and the preface */
    size_t mem_charged;      /* bytes counted against the memory budget */
    size_t out_charged;      /* of which the output buffers */
    srv_req *reqs;           /* requests waiting for a verdict */
    size_t n_reqs;
    uint64_t last_active_ms;
    uint64_t accepted_ms;
    uint8_t sniff[24];
    size_t sniff_len;
    /* peers */
    char peer_ip[INET6_ADDRSTRLEN], local_ip[INET6_ADDRSTRLEN];
    uint32_t peer_port, local_port;
    /* from TLS: NULL without TLS or without a client certificate */
    char *peer_cert_urlenc;
    char *peer_principal;
    char *sni;
};

struct srv_loop {
    srv_fe *fe;
    int index;
    uv_loop_t uv;
    uv_thread_t thread;
    int thread_started;
    /* Listening sockets are polled and accepted by hand, so that running
     * out of descriptors can pause accepting (srv_accept_pause). */
    uv_poll_t listener[SRV_PORT_COUNT_];
    int listen_fd[SRV_PORT_COUNT_];
    int listening[SRV_PORT_COUNT_];
    int accept_paused;
    uv_timer_t accept_timer;
    uv_timer_t sweep_timer;  /* stream timeouts, pool shrinking, trimming */
    uv_prepare_t flush_prep; /* the flush pass, once per loop turn */
    uv_async_t async;
    uv_timer_t stop_timer;
    uv_mutex_t mu;           /* guards the fields below it */
    srv_req *q_head, *q_tail;
    int closed;              /* async closed: workers free their own reqs */
    int stop_requested;
    int64_t grace_deadline_ns;
    /* loop-thread state */
    srv_conn *conns;
    size_t n_conns;
    srv_conn *dirty;
    size_t inflight;         /* reqs submitted and not yet delivered */
    int stopping;
    int stop_ticks;
    srv_pool req_pool;       /* srv_req */
    srv_pool stream_pool;    /* h2_stream */
    srv_stats stats;         /* written by this loop only (server_stats.h) */
    uint8_t rbuf[65536];
};

/* The process-wide memory budget: bytes that connections hold for clients
 * (request bodies and headers, replies, unsent output), updated by every
 * loop (server_mem.c). */
typedef struct srv_mem {
    _Atomic size_t used;
    _Atomic size_t peak;        /* high-water mark since the last trim */
    _Atomic uint64_t last_trim_ms;
    _Atomic uint64_t last_log_ms;
    size_t budget;
} srv_mem;

struct srv_fe {
    const pc_host *host;
    srv_config cfg;
    srv_mem mem;
    _Atomic long pipelines;   /* submitted and not yet decided */
    _Atomic uint64_t accept_log_ms; /* last accept failure logged */
    tls_server *tls;
    srv_loop *loops;
    int n_loops;
    int started;
    _Atomic long outstanding; /* reqs alive anywhere (destroy waits) */
};

/* ---- loops (server_loop.c) ---- */

/** Binds every listener on every loop and starts the threads. */
int srv_start(srv_fe *fe, char *err, size_t errlen);
/** Graceful stop with a deadline; joins the threads. */
void srv_stop(srv_fe *fe, int64_t grace_ms);
/** Waits until the engine answered every request, then frees the loops. */
void srv_release(srv_fe *fe);
/** The loop whose thread is running this, or NULL on other threads. */
srv_loop *srv_current_loop(void);
uint64_t srv_now_ms(srv_loop *l);

/* ---- connections (server_conn.c) ---- */

/** Takes over fd, a socket accepted from a listener of loop l. */
void srv_conn_accept(srv_loop *l, srv_port port, int fd);
/** The protocol saw the client's greeting (the HTTP/2 preface): from now
 *  on idle_timeout_ms applies instead of handshake_timeout_ms. */
void srv_conn_established(srv_conn *c);
/** Counts n more bytes held for c against the memory budget; -1 (nothing
 *  counted) when that would exceed it: refuse the work. */
int srv_conn_charge(srv_conn *c, size_t n);
/** Counts n bytes whatever the budget says (work already accepted). */
void srv_conn_charge_force(srv_conn *c, size_t n);
void srv_conn_uncharge(srv_conn *c, size_t n);
/** Queues plaintext for the peer (through TLS when on). -1 when out of
 *  memory: the connection is then closing. */
int srv_conn_write(srv_conn *c, const void *data, size_t len);
/** Marks c to be flushed. Output is written at one point per loop turn:
 *  the loop's prepare handle, right before it polls, writes what every
 *  dirty connection queued (h2 frames are serialised then too), so the
 *  callbacks of one turn only queue and one uv_write per connection
 *  carries all of it. */
void srv_conn_mark_dirty(srv_conn *c);
/** That one flush pass (server_loop.c's prepare handle only). */
void srv_loop_flush_dirty(srv_loop *l);
/** Bytes queued and not yet written. */
size_t srv_conn_pending_out(const srv_conn *c);
/** 1 while the output is over the high-water mark (stop producing). */
int srv_conn_congested(const srv_conn *c);
/** Reasons to stop reading from a connection. */
enum { SRV_BLOCK_CONGESTED = 1, SRV_BLOCK_PROTO = 2 };
/** Sets or clears one reason; reading resumes when none is left. */
void srv_conn_block_read(srv_conn *c, int reason, int on);
/** Closes after the queued output is written (graceful) or now. */
void srv_conn_close(srv_conn *c, int graceful);
/** Sets the protocol once known (after sniffing or ALPN). */
void srv_conn_set_proto(srv_conn *c, const srv_proto *p, void *state);
const pc_host *srv_conn_host(const srv_conn *c);
const srv_config *srv_conn_config(const srv_conn *c);
/** Fills the source/destination/sni parts of a view from the connection. */
void srv_conn_fill_peers(const srv_conn *c, pc_request_view *v);

/* ---- the memory budget (server_mem.c) ---- */

void srv_mem_init(srv_mem *m, size_t budget);
/** Adds n; -1 and nothing added when the budget would be exceeded. A
 *  small holder (1) may go an eighth above it. */
int srv_mem_try(srv_mem *m, size_t n, int small);
void srv_mem_add(srv_mem *m, size_t n);
void srv_mem_sub(srv_mem *m, size_t n);
/** 1 while more than the budget is in use. */
int srv_mem_over(const srv_mem *m);
/** Periodic, on each loop: hands memory back to the system once usage fell
 *  well below its high-water mark (rate-limited malloc_trim). */
void srv_mem_tick(srv_fe *fe, srv_loop *l, uint64_t now_ms);
/** Logs a refusal for lack of budget, at most once a second. */
void srv_mem_log_refusal(srv_fe *fe, uint64_t now_ms, const char *what);

/* ---- requests (server_submit.c) ---- */

/** A request on connection c rendered by ops, waiting to be submitted. */
srv_req *srv_req_new(srv_conn *c, const srv_req_ops *ops, void *proto_ref);
/** The same for a request received at now_ns (CLOCK_MONOTONIC), a time the
 *  caller already read. */
srv_req *srv_req_new_at(srv_conn *c, const srv_req_ops *ops, void *proto_ref,
                        int64_t now_ns);
/**
 * Hands the view to the engine. The verdict comes back through c's proto
 * deliver (maybe before this returns); r must not be used after the call.
 * deadline_ns (CLOCK_MONOTONIC, 0 = none) arms a timer calling on_timeout.
 */
void srv_req_submit(srv_req *r, pc_request_view *v);
/** Stops waiting: the connection or stream went away. The verdict, when it
 *  comes, is only released. */
void srv_req_detach(srv_req *r);
/** Runs the queue of verdicts from workers (loop thread). */
void srv_loop_run_queue(srv_loop *l);
/** Frees queued verdicts once the loop is closed. */
void srv_loop_drain_closed(srv_loop *l);

/* ---- protocols ---- */

extern const srv_proto h2_proto;
extern const srv_proto h1_proto_http;

/** What a port serves, as the protocols register it (server_conn.c holds
 *  the table): each attach creates the protocol state on c and sets it
 *  (-1 on failure); NULL where the port does not speak that protocol. */
typedef struct srv_port_ops {
    const char *name;
    int tls;                       /* under TLS when TLS is configured */
    int (*attach_h2)(srv_conn *c);
    int (*attach_h1)(srv_conn *c);
    /* 1: ALPN or the first bytes (the HTTP/2 preface) choose between the
     * two; 0: the one attach that is set, from the start. */
    int choose;
} srv_port_ops;

/* h2_grpc.c: ext_authz Check and health over gRPC (the gRPC port). */
int h2_attach_grpc(srv_conn *c);
/* h2_http.c: HTTP authorization over HTTP/2 (the HTTP port). */
int h2_attach_http(srv_conn *c);
/* h1_conn.c: HTTP authorization, the admin port (probes and metrics) and
 * the probe port over HTTP/1.1. */
int h1_attach_http(srv_conn *c);
int h1_attach_admin(srv_conn *c);
int h1_attach_probes(srv_conn *c);

/* ---- HTTP authorization (server_httpauthz.c) ---- */

/** What an HTTP request to the HTTP port looks like to the view builder. */
typedef struct srv_http_in {
    pc_str method, path, query, fragment, host, protocol, body;
    pc_str target; /* path with query, as received */
    const pc_kv *headers;
    size_t n_headers;
    int64_t size;
    srv_req *req;  /* the request the view is for */
} srv_http_in;

/** Fills v for an HTTP request (raw /check or Envoy's http_service); a
 *  rewritten path is allocated in scratch, which must outlive submit.
 *  Returns 0. */
int srv_http_view(srv_conn *c, const srv_http_in *in, pc_request_view *v,
                  srv_arena *scratch);

/** Renders engine verdicts for the HTTP modes. */
extern const srv_req_ops srv_http_req_ops;

/* ---- AdmissionReview on raw /check (server_admission.c) ---- */

/** 1 if body is an admission.k8s.io/v1 AdmissionReview (its uid is kept on
 *  r), 0 if not, -1 out of memory. */
int srv_admission_detect(srv_req *r, pc_str body);
/** Renders the verdict as an AdmissionReview (HTTP 200, JSON) into r->reply. */
int srv_admission_render(srv_req *r, const pc_verdict *v);

#endif
