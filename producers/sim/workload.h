/* evring-sim workloads: seeded random scenarios that drive the services through their lifecycles,
 * grouped the way the platform deploys them (one producer process per group). */
#ifndef EVR_SIM_WORKLOAD_H
#define EVR_SIM_WORKLOAD_H

#include <stdint.h>

#include "services.h"

enum evr_sim_group { EVR_SIM_PLANNER, EVR_SIM_RUNTIME, EVR_SIM_WORKSPACE, EVR_SIM_SESSIONS, EVR_SIM_GROUPS };

struct evr_sim_rng {
	uint64_t s;
};

struct evr_sim_worker {
	struct evr_svc svc;
	struct evr_sim_rng rng;
	uint64_t next_id; /* ids unique per worker: (index + 1) millions onwards */
	uint64_t illegal_rejected; /* illegal transitions tried on purpose and refused */
};

const char *evr_sim_group_name(enum evr_sim_group g);
void evr_sim_worker_init(struct evr_sim_worker *w, struct evr_producer *p, uint64_t seed, unsigned index);
/* Run one whole scenario of the group (a plan from creation to its end, a tool call with its
 * retries...). Emits a handful to a few dozen events. */
void evr_sim_run_scenario(struct evr_sim_worker *w, enum evr_sim_group g);

#endif
