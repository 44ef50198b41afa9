/* Included after <evring/producer.h>. The same bench sources build against the tree before
 * exclusive lanes (issue 17), for before/after tables from one source: there, exclusive rows are
 * left out and producers open without flags. */
#ifndef EVR_BENCH_COMPAT_H
#define EVR_BENCH_COMPAT_H
#ifdef EVR_PRODUCER_EXCLUSIVE
#define BENCH_HAVE_EXCLUSIVE 1
#else
#define BENCH_HAVE_EXCLUSIVE 0
#define EVR_PRODUCER_EXCLUSIVE 0u
#define evr_producer_open_flags(r, service, flags, out, err) ((void)(flags), evr_producer_open(r, service, out, err))
#endif
#endif
