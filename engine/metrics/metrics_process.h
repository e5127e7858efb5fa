/* metrics_process.h - the process_* families (metrics_process.c). */
#ifndef PC_METRICS_METRICS_PROCESS_H
#define PC_METRICS_METRICS_PROCESS_H
#include "util/buf.h"

void metrics_process_render(buf *b);
#endif
