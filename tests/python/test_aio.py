"""The asyncio consumer: it waits without blocking the event loop."""
import asyncio

import evring


def test_aconsume_gets_records_emitted_by_another_task_while_it_waits(ring):
    p = ring.producer("aio")

    async def produce():
        # runs only if the loop is free while aconsume waits: a blocked loop would never get here
        await asyncio.sleep(0.05)
        for i in range(5):
            p.emit("plan_created", plan_id=i)
            await asyncio.sleep(0.01)

    async def main():
        task = asyncio.create_task(produce())
        got = []
        async for ev in ring.aconsume("oldest", follow=True, timeout=2.0):
            got.append(ev.plan_id)
            if len(got) == 5:
                break
        await task
        return got

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]


def test_aconsume_without_follow_drains_and_ends(ring):
    p = ring.producer("aio")
    for i in range(1000):
        p.emit("tool_retried", attempt=i)

    async def main():
        return [ev.attempt async for ev in evring.aconsume(ring, follow=False, types=["tool_retried"])]

    assert asyncio.run(main()) == list(range(1000))


def test_aconsume_ends_on_timeout_and_can_be_cancelled(ring):
    async def idle():
        return [ev async for ev in ring.aconsume(timeout=0.2)]

    async def cancelled():
        async def forever():
            async for _ in ring.aconsume():
                pass
        task = asyncio.create_task(forever())
        await asyncio.sleep(0.1)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(idle()) == []
    assert asyncio.run(cancelled())


def test_aconsume_reports_losses(ring_name):
    ring = evring.create(ring_name, lanes=1, slots_per_lane=16)

    async def main():
        gen = ring.aconsume(follow=False)
        p = ring.producer("aio")
        for i in range(100):
            p.emit("plan_created", plan_id=i)
        return [item async for item in gen]

    items = asyncio.run(main())
    lost = [i for i in items if isinstance(i, evring.Lost)]
    assert lost and len(items) - len(lost) + sum(i.count for i in lost) == 100
