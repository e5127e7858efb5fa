#!/bin/bash
# Every public SDK header compiles on its own, first in the translation
# unit, as strict C99 and as C++11: a plugin author may include any one of
# them from either language without also including its siblings.
#
# Env (set by ctest): PC_SOURCE_DIR.
set -u
: "${PC_SOURCE_DIR:?}"

source "$(dirname "$0")/lib/common.sh"

inc="$PC_SOURCE_DIR/sdk/include"

# try WHAT COMMAND...: ok if COMMAND succeeds; otherwise bad with all it printed.
try() {
    local what=$1; shift
    if "$@" >"$tmp/out" 2>&1; then ok "$what"; else bad "$what" "$(cat "$tmp/out")"; fi
}

headers=$(cd "$inc" && ls portcullis/*.h)
[ -n "$headers" ] || { bad "no headers under $inc"; finish; }

for h in $headers; do
    # Included twice: the include guard must hold.
    printf '#include <%s>\n#include <%s>\nint pc_header_test_anchor;\n' "$h" "$h" >"$tmp/t.c"
    try "$h: gcc -std=c99 -pedantic" \
        gcc -std=c99 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
    try "$h: gcc -std=c11 -pedantic -Wshadow -Wstrict-prototypes" \
        gcc -std=c11 -pedantic -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
    try "$h: g++ -x c++ -std=c++11" \
        g++ -x c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o"
done

# The minimal plugin of plugin.h's comment, in C++: PC_PLUGIN_DEFINE and the
# descriptor types must work there too, with C linkage for the entry point.
cat >"$tmp/p.cc" <<'CPP'
#include <portcullis/portcullis.h>
static pc_status allow_all(void *, pc_eval *) { return PC_OK; }
static pc_evaluator_type make_type()
{
    pc_evaluator_type t = {};
    t.struct_size = sizeof(pc_evaluator_type);
    t.phase = PC_PHASE_AUTHORIZATION;
    t.name = "allowAll";
    t.evaluate = allow_all;
    return t;
}
static const pc_evaluator_type allow_type = make_type();
static const pc_evaluator_type *const types[] = {&allow_type, NULL};
extern "C" {
PC_PLUGIN_DEFINE("allow-all", "1.0.0", "Grants every request", types, NULL)
}
CPP
try "C++ plugin with PC_PLUGIN_DEFINE" \
    g++ -std=c++11 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -I"$inc" \
    "$tmp/p.cc" -o "$tmp/p.so"
if [ -f "$tmp/p.so" ]; then
    try "C++ plugin exports portcullis_plugin_v1 unmangled" \
        bash -c "nm -D --defined-only '$tmp/p.so' | grep -qw portcullis_plugin_v1"
fi

finish
