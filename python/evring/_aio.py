"""The asyncio consumer: Ring.aconsume() and evring.aconsume(ring, ...).

Items are read on the event loop's thread with the consumer's non-blocking poll. When the ring has
nothing new, the wait for more (Consumer.wait, which sleeps on the ring's futex with the GIL
released) runs on a private one-thread executor, and the loop is woken through the future it
resolves (call_soon_threadsafe underneath): the loop thread never blocks and nothing spins. The
consumer is used by one thread at a time: the loop awaits each wait before polling again."""
import asyncio
import concurrent.futures

# Hand the loop back after this many items, so that a flood does not starve other tasks.
_YIELD_EVERY = 256
# Each wait is bounded, so cancelling a task is not stuck behind a long sleep.
_WAIT_SLICE_S = 0.1


def aconsume(ring, start="oldest", *, follow=True, timeout=None, **filters):
    """Async iterator of Event and Lost items of `ring` (same options as Ring.consume).

    The consumer is opened here, at the call (so start='latest' means now), not at the first
    iteration. follow (default True) waits for new records without blocking the loop; timeout:
    seconds without an item after which the iteration ends (None: never)."""
    return _items(ring.consume(start, follow=False, **filters), follow, timeout)


async def _items(consumer, follow, timeout):
    loop = asyncio.get_running_loop()
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="evring-aconsume")
    try:
        idle = 0.0
        while True:
            n = 0
            for item in consumer:
                yield item
                n += 1
                if n % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            if n:
                idle = 0.0
            if not follow:
                return
            slice_s = _WAIT_SLICE_S if timeout is None else min(_WAIT_SLICE_S, max(timeout - idle, 0.0))
            if timeout is not None and slice_s <= 0:
                return
            t0 = loop.time()
            # a cancelled task leaves this wait running on its thread: close() below defers to it
            if not await loop.run_in_executor(pool, consumer.wait, slice_s):
                idle += loop.time() - t0
    finally:
        consumer.close()  # safe while a wait still runs: that thread frees it when it returns
        pool.shutdown(wait=False)
