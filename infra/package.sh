#!/usr/bin/env bash
# Build the Lambda deployment artifacts with `sam build` (rust-cargolambda), offline.
#
#   infra/package.sh                 # build for the template's default Architecture (arm64)
#   ARCHITECTURE=x86_64 infra/package.sh
#   infra/package.sh --setup-only    # only create/refresh .venv-package (used by infra/validate.sh)
#
# Tooling comes from PyPI into a separate venv, .venv-package/ at the repo root
# (aws-sam-cli, cargo-lambda, ziglang; see infra/requirements-package.txt), so the
# local-stack/test venv (.venv/) stays small. With .venv-package/bin first on PATH,
# `python3` is the venv's interpreter and cargo-lambda (cargo-zigbuild) finds zig as
# `python3 -m ziglang`; CARGO_ZIGBUILD_PYTHON_PATH pins that interpreter explicitly.
#
# Cargo builds into .aws-sam/cargo-target (override with CARGO_TARGET_DIR) so a
# release/LTO cross build never fights over the lock of, or invalidates, the
# developer's own target/ directory. `sam build` ignores .aws-sam when hashing sources.
#
# Output: .aws-sam/build/ApiFunction/bootstrap and .aws-sam/build/template.yaml,
# ready for `sam deploy`. The architecture actually built is written to
# .aws-sam/build/ARCHITECTURE: deploy with the same Architecture parameter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${PACKAGE_VENV:-$ROOT/.venv-package}"
REQUIREMENTS="$ROOT/infra/requirements-package.txt"
PYTHON="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }

ensure_venv() {
    if [[ ! -x "$VENV/bin/python3" ]]; then
        log "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    local want have=""
    want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
    [[ -f "$VENV/.requirements.sha256" ]] && have="$(cat "$VENV/.requirements.sha256")"
    if [[ "$want" != "$have" ]]; then
        log "installing $(basename "$REQUIREMENTS") into $VENV"
        "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
        echo "$want" >"$VENV/.requirements.sha256"
    fi
}

ensure_venv
export PATH="$VENV/bin:$PATH"
export CARGO_ZIGBUILD_PYTHON_PATH="$VENV/bin/python3"
export SAM_CLI_TELEMETRY=0

if [[ "${1:-}" == "--setup-only" ]]; then
    exit 0
fi

start=$SECONDS

# ------------------------------------------------------------ architecture
ARCH="${ARCHITECTURE:-arm64}"
case "$ARCH" in
    arm64) RUST_TARGET=aarch64-unknown-linux-gnu ;;
    x86_64) RUST_TARGET=x86_64-unknown-linux-gnu ;;
    *) echo "ARCHITECTURE must be arm64 or x86_64, got '$ARCH'" >&2; exit 2 ;;
esac

target_installed() {
    [[ -d "$(rustc --print sysroot)/lib/rustlib/$1/lib" ]]
}

if [[ "$ARCH" == arm64 ]] && ! target_installed "$RUST_TARGET"; then
    log "Rust target $RUST_TARGET missing; trying rustup target add"
    if ! { command -v rustup >/dev/null 2>&1 &&
        timeout 300 rustup target add "$RUST_TARGET" >/dev/null 2>&1 &&
        target_installed "$RUST_TARGET"; }; then
        cat >&2 <<'MSG'
!!! aarch64 target not installable here; building x86_64 instead — deploy with
!!! Architecture=x86_64 or build on a machine with the target
!!! (rustup target add aarch64-unknown-linux-gnu).
MSG
        ARCH=x86_64
        RUST_TARGET=x86_64-unknown-linux-gnu
    fi
fi

# ------------------------------------------------------------ build
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/.aws-sam/cargo-target}"
log "sam build: Architecture=$ARCH ($RUST_TARGET), CARGO_TARGET_DIR=$CARGO_TARGET_DIR"
sam build --beta-features --parameter-overrides "Architecture=$ARCH" "$@"

BOOTSTRAP="$ROOT/.aws-sam/build/ApiFunction/bootstrap"
if [[ ! -f "$BOOTSTRAP" ]]; then
    echo "sam build finished but $BOOTSTRAP is missing" >&2
    exit 1
fi

# ------------------------------------------------------------ report
elf_machine() {
    # e_machine (bytes 18-19, little endian) of the ELF header: 62 = x86-64, 183 = AArch64.
    case "$(od -An -t u2 -j 18 -N 2 "$1" | tr -d ' ')" in
        62) echo x86_64 ;;
        183) echo arm64 ;;
        *) echo unknown ;;
    esac
}
stripped="stripped"
if command -v readelf >/dev/null 2>&1 && readelf -S -W "$BOOTSTRAP" 2>/dev/null | grep -q '\.symtab'; then
    stripped="NOT stripped"
fi

size=$(stat -c %s "$BOOTSTRAP")
built_arch=$(elf_machine "$BOOTSTRAP")
if [[ "$built_arch" != "$ARCH" ]]; then
    echo "bootstrap is an ELF for '$built_arch', expected '$ARCH'" >&2
    exit 1
fi
echo "$ARCH" >"$ROOT/.aws-sam/build/ARCHITECTURE"
elapsed=$((SECONDS - start))
echo
echo "bootstrap: ${BOOTSTRAP#"$ROOT"/}"
echo "  architecture: $built_arch ($RUST_TARGET)"
echo "  size: $size bytes ($stripped; release profile: lto, codegen-units=1, strip)"
echo "  sam build wall time: ${elapsed}s"
echo
if [[ "$ARCH" == arm64 ]]; then
    echo "deploy: sam deploy            (or: sam deploy --config-env prod)"
else
    echo "deploy: sam deploy --parameter-overrides Stage=dev Architecture=x86_64"
    echo "        (the built binary is x86_64: the Architecture parameter must match)"
fi
