#!/usr/bin/env bash
# Checks on an arm64 (aarch64) CPython 3.11 what the Pi runs and the tests only see on x86_64:
# the sandbox child's ctypes patches (runner/sandbox/cpython_fixes.py, repr_fixes.py), the
# whole sandboxed child path (upload checks and dry runs with an arm64 child), and the flash
# limiter's NumPy verdicts (runner/protect/per_led.py). Not part of `make test`.
#
# No Docker and no binfmt_misc needed: Debian's arm64 packages are unpacked into a sysroot
# (dpkg-deb -x, no chroot) and run with qemu-user (qemu-aarch64-static -L SYSROOT). NumPy's
# manylinux aarch64 wheel comes from PyPI; the pure-Python packages are copied from the x86_64
# environment (same versions). Idempotent: what is there already is kept.
#
#   scripts/check_arm64.sh            # as root the first time (apt-get); then as anyone
#   ARM64_ROOT=/var/tmp/arm64 PYTHON=/path/to/venv/bin/python scripts/check_arm64.sh
#
# Prints the figures and PASS/FAIL per check; exits non-zero on any mismatch.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ARM64_ROOT="${ARM64_ROOT:-/tmp/ledtree-arm64}"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=/work/main/.venv/bin/python
SYSROOT="$ARM64_ROOT/sysroot"
DEBS="$ARM64_ROOT/debs"
SITE="$ARM64_ROOT/site"

# Debian bookworm's python3.11 and the shared libraries it (and ctypes, numpy, pyseccomp) loads.
PACKAGES=(
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3.11
  libc6 libexpat1 zlib1g libffi8 libssl3 libbz2-1.0 liblzma5 libsqlite3-0 libncursesw6
  libtinfo6 libreadline8 libuuid1 libdb5.3 libgdbm6 libcrypt1 libnsl2 libtirpc3
  libgssapi-krb5-2 libkrb5-3 libk5crypto3 libkrb5support0 libcom-err2 libkeyutils1
  libgcc-s1 libstdc++6 libseccomp2
)

say() { printf '== %s\n' "$*"; }

# --- qemu-user ---------------------------------------------------------------------------------
QEMU="$(command -v qemu-aarch64-static || true)"
if [ -z "$QEMU" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "qemu-aarch64-static is missing: run once as root (apt-get install qemu-user-static)" >&2
    exit 2
  fi
  say "installing qemu-user-static"
  apt-get install -y qemu-user-static >/dev/null
  QEMU="$(command -v qemu-aarch64-static)"
fi

# --- the arm64 sysroot -------------------------------------------------------------------------
if [ ! -x "$SYSROOT/usr/bin/python3.11" ] || [ ! -e "$SYSROOT/.complete" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "no sysroot in $SYSROOT yet: run once as root (apt-get download of arm64 packages)" >&2
    exit 2
  fi
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
  fi
  if ! apt-cache show libc6:arm64 >/dev/null 2>&1; then
    say "apt-get update (arm64 lists)"
    apt-get update >/dev/null
  fi
  mkdir -p "$DEBS" "$SYSROOT"
  say "downloading ${#PACKAGES[@]} arm64 packages into $DEBS"
  (cd "$DEBS" && apt-get download -qq "${PACKAGES[@]/%/:arm64}" media-types 2>&1 \
    | grep -v '^W: Download is performed unsandboxed' || true)
  say "unpacking into $SYSROOT (dpkg-deb -x, no chroot)"
  for deb in "$DEBS"/*.deb; do dpkg-deb -x "$deb" "$SYSROOT"; done
  touch "$SYSROOT/.complete"
fi
ARM64_PYTHON=("$QEMU" -L "$SYSROOT" "$SYSROOT/usr/bin/python3.11")

# --- packages for the arm64 interpreter ----------------------------------------------------------
mkdir -p "$SITE"
NUMPY_VERSION="$("$PYTHON" -c 'import numpy; print(numpy.__version__)')"
if [ ! -e "$SITE/numpy-$NUMPY_VERSION.dist-info" ]; then
  say "numpy $NUMPY_VERSION: the manylinux aarch64 wheel from PyPI"
  WHEELS="$ARM64_ROOT/wheels"
  mkdir -p "$WHEELS"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --implementation cp --abi cp311 \
    --python-version 3.11 --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 \
    --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
    -d "$WHEELS" "numpy==$NUMPY_VERSION"
  rm -rf "$SITE"/numpy "$SITE"/numpy.libs "$SITE"/numpy-*.dist-info
  "$PYTHON" -m zipfile -e "$WHEELS/numpy-$NUMPY_VERSION-cp311-cp311-"*aarch64*.whl "$SITE"
fi
# Pure Python: the x86_64 environment's own copies (the same versions the tests use).
"$PYTHON" - "$SITE" <<'EOF'
import importlib, os, shutil, sys
site = sys.argv[1]
for name in ("RestrictedPython", "landlock", "pyseccomp"):
    module = importlib.import_module(name)
    source = os.path.dirname(module.__file__) if name != "pyseccomp" else module.__file__
    target = os.path.join(site, os.path.basename(source))
    if not os.path.exists(target):
        copy = shutil.copytree if os.path.isdir(source) else shutil.copy2
        copy(source, target)
EOF
# The child runs as `python -I` with an empty environment: a .pth file in the sysroot's
# dist-packages puts the repo and those packages on its path.
DIST="$SYSROOT/usr/lib/python3/dist-packages"
mkdir -p "$DIST"
printf '%s\n%s\n' "$REPO" "$SITE" >"$DIST/zz_ledtree_check.pth"

say "arm64 interpreter: $("${ARM64_PYTHON[@]}" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')"
say "x86_64 interpreter: $("$PYTHON" -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')"
cd "$REPO"
exec "$PYTHON" scripts/arm64_patches_check.py compare --arm64 "${ARM64_PYTHON[@]}"
