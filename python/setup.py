"""pip install ./python (offline: pip install --no-build-isolation --no-index ./python).

Builds the _evring extension from its own sources, libevring's (../libring) and the platform
schema's (../schema, for create()), compiled into the
module as CMake links it (statically, its symbols kept private), so the installed package needs no
libevring.so. Needs only Debian's python3-dev and python3-setuptools."""
import glob
import os

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
LIBRING = os.path.join(HERE, "..", "libring")
SCHEMA = os.path.join(HERE, "..", "schema")
if not os.path.isdir(os.path.join(LIBRING, "src")):
    raise SystemExit(f"evring: libring sources not found at {LIBRING}: install from the repository's python/ folder")


def rel(paths):
    return sorted(os.path.relpath(p, HERE) for p in paths)


ext = Extension(
    "evring._evring",
    sources=rel(glob.glob(os.path.join(HERE, "src", "*.c")) + glob.glob(os.path.join(LIBRING, "src", "*.c"))
                + [os.path.join(SCHEMA, "platform.c")]),
    include_dirs=[os.path.join(LIBRING, "include"), os.path.join(LIBRING, "src"), os.path.join(SCHEMA, "include")],
    # only PyInit__evring leaves the module: libevring's symbols stay private to it
    extra_compile_args=["-std=gnu11", "-O2", "-fvisibility=hidden"],
    libraries=["pthread", "rt"],
)

setup(
    name="evring",
    version="0.3.0",
    description="Emit into and consume from evring rings (lock-free events in POSIX shared memory)",
    packages=["evring"],
    package_data={"evring": ["py.typed", "*.pyi"]},
    ext_modules=[ext],
    python_requires=">=3.9",
)
