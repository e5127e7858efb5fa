/* portcullis cel : one CEL expression against the Authorization JSON of one
 * CheckRequest, for people writing predicates and values. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "cel/cel.h"
#include "doc/doc.h"
#include "request/authjson.h"
#include "request/checkjson.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: portcullis cel EXPRESSION --request FILE [options]\n"
            "Evaluates a CEL expression against the Authorization JSON that Portcullis\n"
            "builds for a CheckRequest (Envoy's proto3 JSON form), and prints the value\n"
            "as JSON.\n\n"
            "  -r, --request FILE   the CheckRequest JSON; - reads standard input\n"
            "  -A, --auth FILE      a JSON object to use as `auth` (e.g. {\"identity\": ...}),\n"
            "                       as the pipeline would have built it\n"
            "  -d, --document       print the Authorization JSON the expression sees\n"
            "  -h, --help           show this help\n\n"
            "Exit status: 0 evaluated, 1 an evaluation error, 2 a usage, request or\n"
            "expression error. See docs/cel.md for the language.\n");
}

/* The expression's line with a caret under the column at fault. */
static void show_error(const char *expr, const cel_error *err)
{
    fprintf(stderr, "CEL: %s", err->msg);
    if (err->line > 0)
        fprintf(stderr, " at line %d, column %d", err->line, err->column);
    fputc('\n', stderr);
    if (err->line <= 0)
        return;
    const char *s = expr;
    for (int l = 1; l < err->line && s; l++) {
        s = strchr(s, '\n');
        if (s)
            s++;
    }
    if (!s)
        return;
    const char *e = strchr(s, '\n');
    int n = e ? (int)(e - s) : (int)strlen(s);
    fprintf(stderr, "  %.*s\n  ", n, s);
    for (int i = 1; i < err->column; i++)
        fputc(' ', stderr);
    fputs("^\n", stderr);
}

static struct json_object *read_json(const char *path, const char *what)
{
    size_t len;
    char *text = cli_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "portcullis cel: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    struct json_tokener *tok = json_tokener_new();
    struct json_object *o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
    if (!tok || json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object)) {
        fprintf(stderr, "portcullis cel: %s: %s is not a JSON object\n", path, what);
        json_object_put(o);
        o = NULL;
    }
    if (tok)
        json_tokener_free(tok);
    free(text);
    return o;
}

int cmd_cel(int argc, char **argv)
{
    static const struct option opts[] = {
        {"request", required_argument, NULL, 'r'},
        {"auth", required_argument, NULL, 'A'},
        {"document", no_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *request = NULL, *auth = NULL, *expr = NULL;
    int show_doc = 0, c;
    while ((c = getopt_long(argc, argv, "r:A:dh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': request = optarg; break;
        case 'A': auth = optarg; break;
        case 'd': show_doc = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        expr = argv[optind++];
    if (!expr || !request || optind < argc) {
        usage(stderr);
        return 2;
    }
    cel_error err;
    cel_program *p = cel_compile(expr, strlen(expr), cel_authorino_vars, &err);
    if (!p) {
        show_error(expr, &err);
        return 2;
    }
    size_t len;
    char *text = cli_read_file(request, &len);
    if (!text) {
        fprintf(stderr, "portcullis cel: cannot read %s: %s\n", request, strerror(errno));
        cel_program_free(p);
        return 2;
    }
    checkjson cj;
    char jerr[256];
    int rc = checkjson_parse(text, len, &cj, jerr, sizeof jerr), status = 2;
    struct json_object *authdoc = NULL;
    struct arena mem; /* the document, as a request's */
    arena_init(&mem, 0);
    doc *root = NULL;
    if (rc != CHECKJSON_OK) {
        fprintf(stderr, "portcullis cel: %s: %s\n", request,
                rc == CHECKJSON_NO_HTTP ? "no attributes.request.http" : jerr);
        goto out;
    }
    if (!(root = authjson_build(&cj.view, 0, &mem)))
        goto out;
    if (auth) {
        int cerr = 0;
        const doc *ad = NULL;
        if (!(authdoc = read_json(auth, "--auth")) ||
            !(ad = doc_from_jsonc(&mem, authdoc, NULL, &cerr)) ||
            doc_set(&mem, root, "auth", 4, ad))
            goto out;
    }
    if (show_doc) {
        struct json_object *j = NULL;
        if (doc_to_jsonc(root, &j) != 0)
            goto out;
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    }
    cel_arena a;
    cel_arena_init(&a, 0);
    cel_activation act = {&cel_doc_tree, root, NULL};
    cel_value v;
    if (cel_eval(p, &act, NULL, &a, &v, &err) != 0) {
        show_error(expr, &err);
        status = 1;
    } else {
        struct json_object *j = NULL;
        if (cel_value_to_json(&v, &cel_doc_tree, &j, &err) == 0) {
            printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(j);
            status = 0;
        } else {
            show_error(expr, &err);
            status = 1;
        }
    }
    cel_arena_free(&a);
out:
    json_object_put(authdoc);
    arena_free(&mem);
    checkjson_free(&cj);
    free(text);
    cel_program_free(p);
    return status;
}
