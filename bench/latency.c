/* End-to-end latency, producer process -> consumer process, and send cost, for evring and the
 * transports users would pick instead: pipe, Unix SOCK_SEQPACKET, POSIX message queue, ZeroMQ
 * ipc:// PUB/SUB, Concurrency Kit's ck_ring in a shared mapping. Every message is 128 bytes and
 * carries the sender's CLOCK_MONOTONIC time; the receiver records now - sent in a histogram. */
#define _GNU_SOURCE
#include <errno.h>
#include <evring/evring.h>
#include <evring/platform.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef EVR_BENCH_ZMQ
#include <zmq.h>
#endif
#ifdef EVR_BENCH_CK
#include <ck_ring.h>
#endif

#include "bench.h"

#define MSG 128

/* A transport: open() runs in each process after fork (side 0 sends, 1 receives). */
struct transport {
	const char *name;
	int (*prepare)(void);                /* in the parent, before fork */
	int (*open)(int side);
	void (*send)(const unsigned char *m); /* blocks or spins when full: peers apply back-pressure */
	int (*recv)(unsigned char *m);        /* 1 got one, 0 none yet (busy-polling transports) */
	void (*cleanup)(void);                /* in the parent, after both ended */
};

/* ---- evring ---- */
static const char *lat_ring = "/evr-bench-lat";
static struct evr_producer *ev_p;
static struct evr_consumer *ev_c;
static bool ev_sleep;

static int ev_prepare(void)
{
	struct evr_ring_opts o;
	evr_platform_opts(&o);
	o.slots_per_lane = 1u << 16;
	evr_ring_unlink(lat_ring, NULL);
	struct evr_ring *r;
	if (evr_ring_create(lat_ring, &o, &r, NULL))
		return -1;
	evr_ring_close(r); /* the segment stays until cleanup */
	return 0;
}

static int ev_open(int side)
{
	struct evr_ring *r;
	if (evr_ring_open(lat_ring, side ? EVR_ROLE_CONSUMER : EVR_ROLE_PRODUCER, &r, NULL))
		return -1;
	struct evr_consumer_opts co = { .start = EVR_START_LATEST };
	return side ? evr_consumer_open(r, &co, &ev_c, NULL) : evr_producer_open(r, "lat", &ev_p, NULL);
}

static void ev_send(const unsigned char *m)
{
	struct evr_record r;
	evr_record_init(&r, EVR_TOOL_COMPLETED, 1, 2);
	memcpy(&EVR_EV(&r, tool_completed)->duration_ns, m, 8); /* the send time rides in a u64 field */
	evr_emit(ev_p, &r);
}

static int ev_recv(unsigned char *m)
{
	struct evr_item it;
	for (;;) {
		int n = evr_consumer_poll(ev_c, &it);
		if (n <= 0) {
			if (!ev_sleep)
				return 0;
			evr_consumer_wait(ev_c, 100000000);
			continue;
		}
		if (it.kind == EVR_ITEM_RECORD) {
			memcpy(m, &EVR_EV(&it.rec, tool_completed)->duration_ns, 8);
			return 1;
		}
	}
}

static void ev_cleanup(void)
{
	evr_ring_unlink(lat_ring, NULL);
}

/* ---- the floor: a one-message mailbox in a shared mapping ----
 * No ring, no claim, no producer table: the sender waits until the previous message was taken,
 * copies 128 bytes and release-stores a sequence number; the receiver spins on it. What is left is
 * what any shared-memory transport pays on these two cores: the cache lines moving between them
 * and the two clock reads. evring's e2e figures are read against this one. */
struct mailbox {
	_Alignas(64) _Atomic uint64_t seq; /* release by the sender: orders the message before it */
	unsigned char msg[MSG];
	_Alignas(64) _Atomic uint64_t taken; /* release by the receiver: it has copied msg out */
};
static struct mailbox *mb;
static uint64_t mb_last;
static int mb_prepare(void)
{
	mb = mmap(NULL, sizeof *mb, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mb == MAP_FAILED)
		return -1;
	mb_last = 0;
	return 0;
}
static int mb_open(int side) { (void)side; return 0; }
static void mb_send(const unsigned char *m)
{
	/* acquire: pairs with the receiver's release of `taken`, so msg is not overwritten while read */
	for (uint64_t t0 = 0; atomic_load_explicit(&mb->taken, memory_order_acquire) != mb_last;) {
		uint64_t now = evr_mono_ns();
		if (!t0)
			t0 = now;
		else if (now - t0 > 1000000000) /* the receiver has ended (it stops at the first end marker) */
			return;
	}
	memcpy(mb->msg, m, MSG);
	atomic_store_explicit(&mb->seq, ++mb_last, memory_order_release); /* publishes msg */
}
static int mb_recv(unsigned char *m)
{
	uint64_t s = atomic_load_explicit(&mb->seq, memory_order_acquire); /* pairs with the send */
	if (s == mb_last)
		return 0;
	memcpy(m, mb->msg, MSG);
	mb_last = s;
	atomic_store_explicit(&mb->taken, s, memory_order_release); /* msg may be reused after this */
	return 1;
}
static void mb_cleanup(void) { munmap(mb, sizeof *mb); }

/* ---- pipe, Unix seqpacket, POSIX mq: blocking kernel transports ---- */
static int fds[2], my_fd;

static int pipe_prepare(void) { return pipe(fds); }
static int sock_prepare(void) { return socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds); }
static int fd_open(int side) { my_fd = fds[side ? 0 : 1]; close(fds[side ? 1 : 0]); return 0; }
static int sock_open(int side) { my_fd = fds[side]; close(fds[!side]); return 0; }
static void fd_send(const unsigned char *m) { (void)!write(my_fd, m, MSG); }
static int fd_recv(unsigned char *m) { return read(my_fd, m, MSG) == MSG; }
static void fd_cleanup(void) { close(fds[0]); close(fds[1]); }

static mqd_t mq;
static const char *mq_name = "/evr-bench-mq";
static int mq_prepare(void)
{
	struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = MSG }; /* 10: the default msg_max limit */
	mq_unlink(mq_name);
	mq = mq_open(mq_name, O_CREAT | O_RDWR, 0600, &a);
	return mq == (mqd_t)-1 ? -1 : 0;
}
static int mq_open_side(int side) { (void)side; return 0; }
static void mq_send_msg(const unsigned char *m) { mq_send(mq, (const char *)m, MSG, 0); }
static int mq_recv_msg(unsigned char *m) { return mq_receive(mq, (char *)m, MSG, NULL) == MSG; }
static void mq_cleanup(void) { mq_close(mq); mq_unlink(mq_name); }

#ifdef EVR_BENCH_ZMQ
static void *zctx, *zsock;
static char zaddr[64];
static int zmq_prepare(void) { snprintf(zaddr, sizeof zaddr, "ipc:///tmp/evr-bench-zmq-%d", getpid()); return 0; }
static int zmq_open_side(int side)
{
	zctx = zmq_ctx_new();
	zsock = zmq_socket(zctx, side ? ZMQ_SUB : ZMQ_PUB);
	if (side) {
		zmq_setsockopt(zsock, ZMQ_SUBSCRIBE, "", 0);
		return zmq_connect(zsock, zaddr);
	}
	int rc = zmq_bind(zsock, zaddr);
	usleep(300000); /* PUB/SUB slow joiner: let the subscriber connect before the first message */
	return rc;
}
static void zmq_send_msg(const unsigned char *m) { zmq_send(zsock, m, MSG, 0); }
static int zmq_recv_msg(unsigned char *m) { return zmq_recv(zsock, m, MSG, 0) == MSG; }
static void zmq_cleanup(void) { char p[80]; snprintf(p, sizeof p, "%s", zaddr + 6); unlink(p); }
#endif

#ifdef EVR_BENCH_CK
/* ck_ring SPSC of slot indices over a shared mapping; the payloads live in a slot array twice the
 * ring's size so a slot is not rewritten while its index may still be in flight. */
#define CK_SIZE 4096
struct ck_shared {
	ck_ring_t ring;
	ck_ring_buffer_t buf[CK_SIZE];
	unsigned char slots[2 * CK_SIZE][MSG];
	uint64_t next;
};
static struct ck_shared *ck;
static int ck_prepare(void)
{
	ck = mmap(NULL, sizeof *ck, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ck == MAP_FAILED)
		return -1;
	ck_ring_init(&ck->ring, CK_SIZE);
	return 0;
}
static int ck_open(int side) { (void)side; return 0; }
static void ck_send_msg(const unsigned char *m)
{
	uint64_t idx = ck->next++ % (2 * CK_SIZE);
	memcpy(ck->slots[idx], m, MSG);
	while (!ck_ring_enqueue_spsc(&ck->ring, ck->buf, (void *)(uintptr_t)(idx + 1)))
		;
}
static int ck_recv_msg(unsigned char *m)
{
	void *v;
	if (!ck_ring_dequeue_spsc(&ck->ring, ck->buf, &v))
		return 0;
	memcpy(m, ck->slots[(uintptr_t)v - 1], MSG);
	return 1;
}
static void ck_cleanup(void) { munmap(ck, sizeof *ck); }
#endif

static const struct transport transports[] = {
	{ "floor: shm mailbox", mb_prepare, mb_open, mb_send, mb_recv, mb_cleanup },
	{ "evring (busy-poll)", ev_prepare, ev_open, ev_send, ev_recv, ev_cleanup },
	{ "evring (futex sleep)", ev_prepare, ev_open, ev_send, ev_recv, ev_cleanup },
	{ "pipe", pipe_prepare, fd_open, fd_send, fd_recv, fd_cleanup },
	{ "unix seqpacket", sock_prepare, sock_open, fd_send, fd_recv, fd_cleanup },
	{ "posix mq", mq_prepare, mq_open_side, mq_send_msg, mq_recv_msg, mq_cleanup },
#ifdef EVR_BENCH_ZMQ
	{ "zeromq ipc pub/sub", zmq_prepare, zmq_open_side, zmq_send_msg, zmq_recv_msg, zmq_cleanup },
#endif
#ifdef EVR_BENCH_CK
	{ "ck_ring spsc (shm)", ck_prepare, ck_open, ck_send_msg, ck_recv_msg, ck_cleanup },
#endif
};

struct lat_result {
	struct hist h;
	double send_ns;
	uint64_t received;
};

/* One run: n messages at `rate` per second (0: back to back). Returns percentiles in *out. */
static int run(const struct transport *t, uint64_t n, double rate, struct lat_result *out)
{
	struct lat_result *res = mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(res, 0, sizeof *res);
	ev_sleep = strstr(t->name, "sleep") != NULL;
	if (t->prepare())
		return -1;
	int ready[2];
	if (pipe(ready))
		return -1;
	pid_t rx = fork();
	if (rx == 0) {
		bench_pin_cpu(1);
		if (t->open(1))
			_exit(1);
		(void)!write(ready[1], "r", 1);
		unsigned char m[MSG];
		uint64_t deadline = 0;
		while (res->received < n) {
			if (!t->recv(m)) {
				if (deadline && evr_mono_ns() > deadline)
					break; /* the sender is done and nothing more comes (dropping peers) */
				continue;
			}
			uint64_t sent, now = evr_mono_ns();
			memcpy(&sent, m, 8);
			if (sent == UINT64_MAX) /* end marker */
				break;
			hist_add(&res->h, now - sent);
			res->received++;
			if (res->send_ns > 0 && !deadline)
				deadline = now + 500000000;
		}
		_exit(0);
	}
	close(ready[1]); /* so that read() sees EOF if the receiver dies before it is ready */
	char b;
	if (read(ready[0], &b, 1) != 1) {
		close(ready[0]);
		waitpid(rx, NULL, 0);
		t->cleanup();
		munmap(res, sizeof *res);
		return -1;
	}
	pid_t tx = fork();
	if (tx == 0) {
		bench_pin_cpu(0);
		if (t->open(0))
			_exit(1);
		unsigned char m[MSG] = { 0 };
		double gap = rate > 0 ? 1e9 / rate : 0;
		uint64_t t0 = evr_mono_ns(), spent = 0;
		for (uint64_t i = 0; i < n; i++) {
			if (gap > 0)
				while ((double)(evr_mono_ns() - t0) < (double)i * gap)
					;
			uint64_t now = evr_mono_ns();
			memcpy(m, &now, 8);
			t->send(m);
			spent += evr_mono_ns() - now;
		}
		res->send_ns = (double)spent / (double)n;
		uint64_t end = UINT64_MAX;
		memcpy(m, &end, 8);
		for (int i = 0; i < 3; i++)
			t->send(m);
		_exit(0);
	}
	waitpid(tx, NULL, 0);
	uint64_t wait_end = evr_mono_ns() + 5000000000ull;
	int st;
	while (waitpid(rx, &st, WNOHANG) != rx) {
		if (evr_mono_ns() > wait_end) { /* a receiver waiting for a message its peer dropped */
			kill(rx, SIGKILL);
			waitpid(rx, &st, 0);
			break;
		}
		usleep(1000);
	}
	close(ready[0]);
	t->cleanup();
	*out = *res;
	munmap(res, sizeof *res);
	return 0;
}

static void report(const char *tname, const char *rate_name, const struct lat_result *r, FILE *plot)
{
	char name[96];
	snprintf(name, sizeof name, "%s @ %s", tname, rate_name);
	static const double pcts[] = { 50, 90, 99, 99.9, 99.99 };
	static const char *const labels[] = { "p50", "p90", "p99", "p99.9", "p99.99" };
	for (int i = 0; i < 5; i++)
		bench_row("latency", name, labels[i], (double)hist_pct(&r->h, pcts[i]), "ns", NULL);
	bench_row("latency", name, "max", (double)r->h.max, "ns", NULL);
	char note[64];
	snprintf(note, sizeof note, "%llu messages received", (unsigned long long)r->received);
	bench_row("latency", name, "send cost", r->send_ns, "ns", note);
	if (plot) {
		fprintf(plot, "\"%s\"", name);
		for (int i = 0; i < 5; i++)
			fprintf(plot, " %llu", (unsigned long long)hist_pct(&r->h, pcts[i]));
		fprintf(plot, " %llu\n", (unsigned long long)r->h.max);
	}
}

void bench_latency(const char *plot_path)
{
	FILE *plot = fopen(plot_path, "w");
	struct { const char *name; double rate; uint64_t n; } rates[] = {
		{ "10k/s", 10000, bench_quick ? 20000 : 100000 },
		{ "1M/s", 1000000, bench_quick ? 200000 : 1000000 },
		{ "max", 0, bench_quick ? 200000 : 1000000 },
	};
	for (size_t t = 0; t < sizeof transports / sizeof transports[0]; t++)
		for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
			bench_progress("latency: %s at %s", transports[t].name, rates[r].name);
			struct lat_result res;
			if (run(&transports[t], rates[r].n, rates[r].rate, &res)) {
				bench_row("latency", transports[t].name, "error", 0, "", "transport could not be set up");
				continue;
			}
			report(transports[t].name, rates[r].name, &res, plot);
		}
	if (plot)
		fclose(plot);
}
