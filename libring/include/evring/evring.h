/* evring: a lock-free, multi-producer event ring in POSIX shared memory. Include this one header. */
#ifndef EVRING_EVRING_H
#define EVRING_EVRING_H

#include "consumer.h"
#include "describe.h"
#include "producer.h"
#include "ring.h"
#include "record.h"

#endif
