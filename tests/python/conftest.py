"""Fixtures of the Python binding's tests: unique ring names (/evrt-py-<pid>-<n>, the pattern
tests/install/shm_cleanup.sh knows) unlinked after each test, the CLI and evring-sim paths from
the environment ctest sets, and a check that a test leaves nothing of its own in /dev/shm."""
import glob
import itertools
import os
import subprocess

import pytest

import evring

_counter = itertools.count()


def new_name(tag="py"):
    return f"/evrt-{tag}-{os.getpid()}-{next(_counter)}"


def shm_objects(name):
    return glob.glob(f"/dev/shm{name}") + glob.glob(f"/dev/shm{name}~*")


@pytest.fixture
def ring_name():
    name = new_name()
    yield name
    evring.unlink(name, missing_ok=True)
    assert shm_objects(name) == [], "the test left its ring behind"


@pytest.fixture
def ring(ring_name):
    """A small ring: 2 lanes of 1024 slots."""
    return evring.create(ring_name, lanes=2, slots_per_lane=1024)


def _tool(var):
    path = os.environ.get(var)
    if not path:
        pytest.skip(f"{var} is not set (ctest sets it)")
    return path


@pytest.fixture
def cli():
    return _tool("EVRING_CLI")


@pytest.fixture
def sim():
    return _tool("EVRING_SIM")


def run(*args, timeout=60):
    """Run a program to completion; its stdout (a failure shows stderr)."""
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{args} exited {p.returncode}: {p.stderr}"
    return p.stdout
