/* evring create: make a new ring segment. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include <evring/platform.h>

static int parse_u32(const char *cmd, const char *flag, const char *val, uint32_t *out)
{
	uint64_t v;
	if (evr_cli_parse_u64(val, true, &v) < 0 || v > UINT32_MAX)
		return evr_cli_usage_error(cmd, "%s: '%s' is not a number", flag, val);
	*out = (uint32_t)v;
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lanes", required_argument, NULL, 'l' },
		{ "slots", required_argument, NULL, 's' },
		{ "exclusive-lanes", required_argument, NULL, 'x' },
		{ "record-size", required_argument, NULL, 'r' },
		{ "producers", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "clock", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct evr_ring_opts opts;
	evr_platform_opts(&opts);
	int c, rc;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': if ((rc = parse_u32("create", "--lanes", optarg, &opts.lanes))) return rc; break;
		case 's': if ((rc = parse_u32("create", "--slots", optarg, &opts.slots_per_lane))) return rc; break;
		case 'x': if ((rc = parse_u32("create", "--exclusive-lanes", optarg, &opts.exclusive_lanes))) return rc; break;
		case 'r': if ((rc = parse_u32("create", "--record-size", optarg, &opts.record_size))) return rc; break;
		case 'p': if ((rc = parse_u32("create", "--producers", optarg, &opts.max_producers))) return rc; break;
		case 'm': {
			char *end;
			long m = strtol(optarg, &end, 8);
			if (*end || end == optarg || m < 0 || m > 0777)
				return evr_cli_usage_error("create", "--mode: '%s' is not an octal mode", optarg);
			opts.mode = (mode_t)m;
			break;
		}
		case 'c':
			if (!strcmp(optarg, "auto")) opts.ts_source = EVR_TS_AUTO;
			else if (!strcmp(optarg, "monotonic")) opts.ts_source = EVR_TS_MONOTONIC;
			else if (!strcmp(optarg, "tsc")) opts.ts_source = EVR_TS_TSC;
			else return evr_cli_usage_error("create", "--clock: '%s' is not auto, monotonic or tsc", optarg);
			break;
		default: return evr_cli_usage_error("create", "bad option");
		}
	}
	if (optind != argc - 1)
		return evr_cli_usage_error("create", "expects exactly one ring NAME");
	struct evr_ring *ring;
	struct evr_err err = { 0 };
	rc = evr_ring_create(argv[optind], &opts, &ring, &err);
	if (rc < 0) {
		evr_cli_error("create", "%s", err.msg[0] ? err.msg : evr_strerror(rc));
		return rc == -EINVAL ? EVR_EXIT_USAGE : EVR_EXIT_FAIL;
	}
	struct evr_ring_info info;
	evr_ring_get_info(ring, &info);
	printf("created %s: %u lanes (%u exclusive) x %u slots x %u B, %u producers, %llu bytes, mode %04o\n",
	       info.name, info.lanes, info.exclusive_lanes, info.slots_per_lane, info.record_size, info.max_producers,
	       (unsigned long long)info.segment_size, (unsigned)info.mode);
	evr_ring_close(ring);
	return EVR_EXIT_OK;
}

const struct evr_command evr_cmd_create = {
	.name = "create",
	.summary = "create a ring",
	.usage = "evring create NAME [--lanes N] [--exclusive-lanes N] [--slots N] [--record-size B]\n"
		 "                   [--producers N] [--mode 0600] [--clock auto|monotonic|tsc]\n"
		 "  --lanes N        shared lanes (default: one per online CPU, rounded up to a power of two)\n"
		 "  --exclusive-lanes N\n"
		 "                   lanes one producer at a time owns (EVR_PRODUCER_EXCLUSIVE), after the\n"
		 "                   shared ones; its emits take no locked instruction (default 0)\n"
		 "  --slots N        slots per lane, a power of two (default 4096; k/M suffixes)\n"
		 "  --record-size B  slot size, a power of two from 128 to 4096 (default 128). A record is\n"
		 "                   128 bytes whatever the slot (it is the wire format; details stay at\n"
		 "                   most the 128-byte record's room): a larger slot only spaces records\n"
		 "                   out, costs memory and buys nothing today; it is kept for a wider\n"
		 "                   record format\n"
		 "  --producers N    producer table entries (default 256)\n"
		 "  --mode M         octal permissions of the segment (default 0600)\n"
		 "  --clock C        timestamp source (default auto: TSC when the kernel trusts it)",
	.run = run,
};
