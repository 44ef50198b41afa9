/* Ring name watching and the processes mapping a ring: see ringwatch.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <evring/ring.h>

#include "ringwatch.h"

enum evr_name_state evr_ring_name_state(const char *name, uint64_t ring_id)
{
	struct evr_ring *ring;
	int rc = evr_ring_open(name, EVR_ROLE_CONSUMER, &ring, NULL);
	if (rc == -ENOENT)
		return EVR_NAME_UNLINKED;
	if (rc < 0)
		return EVR_NAME_REPLACED; /* a corrupt or foreign object took the name: not ours either */
	struct evr_ring_info info;
	evr_ring_get_info(ring, &info);
	evr_ring_close(ring);
	return info.ring_id == ring_id ? EVR_NAME_SAME : EVR_NAME_REPLACED;
}

/* Whether /proc/PID/maps maps "/dev/shm" NAME (normalized, with its leading '/'), as the object
 * that now has this name: a mapping of an unlinked one ends in " (deleted)". */
static int maps_ring(pid_t pid, const char *path)
{
	char file[64], line[4608];
	snprintf(file, sizeof file, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(file, "r");
	if (!f)
		return 0;
	size_t plen = strlen(path);
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		char *p = strstr(line, " /dev/shm/");
		found = p && !strncmp(p + 1, path, plen) && (p[1 + plen] == '\n' || p[1 + plen] == 0);
	}
	fclose(f);
	return found;
}

int evr_ring_mappers(const char *name, pid_t *pids, int max)
{
	char norm[EVR_NAME_MAX + 1], path[EVR_NAME_MAX + 16];
	if (evr_name_normalize(name, norm, NULL))
		return 0;
	snprintf(path, sizeof path, "/dev/shm%s", norm);
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid == getpid() || !maps_ring(pid, path))
			continue;
		if (n < max)
			pids[n] = pid;
		n++;
	}
	closedir(d);
	return n;
}
