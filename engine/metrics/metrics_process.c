/* metrics_process.c - process_* as Prometheus' client libraries name them
 * (CPU time, resident and virtual memory, file descriptors, start time),
 * read from /proc/self on each scrape. Linux only; on a read error the
 * family is left out rather than reported as 0. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "metrics_process.h"
#include "util/buf.h"

static void gauge(buf *b, const char *name, const char *type, const char *help, double v)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* Fields 14-15 (utime, stime, ticks), 22 (starttime, ticks since boot),
 * 23 (vsize, bytes), 24 (rss, pages) of /proc/self/stat. */
static int read_stat(double *cpu_s, double *start_ticks, double *vsize, double *rss_pages)
{
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return -1;
    char line[1024];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name may hold spaces and parentheses: skip to the last ')'. */
    char *p = strrchr(line, ')');
    if (!p)
        return -1;
    unsigned long long ut = 0, st = 0, start = 0, vs = 0;
    long long rss = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                      "%*d %*d %*d %*d %*d %*d %llu %llu %lld",
               &ut, &st, &start, &vs, &rss) != 5)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(ut + st) / hz;
    *start_ticks = (double)start / hz;
    *vsize = (double)vs;
    *rss_pages = (double)rss;
    return 0;
}

static double boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[256];
    double bt = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return bt;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

void metrics_process_render(buf *b)
{
    double cpu, start, vsize, rss;
    if (read_stat(&cpu, &start, &vsize, &rss) == 0) {
        gauge(b, "process_cpu_seconds_total", "counter",
              "Total user and system CPU time spent in seconds.", cpu);
        gauge(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
              rss * (double)sysconf(_SC_PAGESIZE));
        gauge(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
              vsize);
        double bt = boot_time();
        if (bt >= 0)
            gauge(b, "process_start_time_seconds", "gauge",
                  "Start time of the process since unix epoch in seconds.", bt + start);
    }
    long fds = open_fds();
    if (fds >= 0)
        gauge(b, "process_open_fds", "gauge", "Number of open file descriptors.", (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        gauge(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
              (double)rl.rlim_cur);
}
