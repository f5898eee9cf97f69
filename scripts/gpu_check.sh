#!/usr/bin/env bash
# Accelerator check: install JAX's CUDA build if a GPU is present and JAX cannot see it, print the device, run
# the training, sweep and simulator benchmarks, and write everything they print to one file.
#
#   scripts/gpu_check.sh                       # GPU settings on a GPU, CPU settings otherwise
#   GPU_CHECK_SIZE=small scripts/gpu_check.sh  # seconds-long smoke run (what tests/test_sweep_scripts.py runs)
#
# Output file: $OUT/gpu_check.txt when $OUT is set (the device machine's result folder), else runs/gpu_check.txt.
# On a GPU (size gpu) it first generates the seed data set in data/vortex_street when it is missing (timed).
# Environment:
#   PYTHON               interpreter (default: python3)
#   GPU_CHECK_SIZE       gpu | cpu | small (default: gpu if nvidia-smi lists a GPU, else cpu)
#   GPU_CHECK_BUDGET_S   seconds for the whole script (default 280, under 5 minutes); each benchmark gets a share
#   GPU_CHECK_TRAIN_ARGS / GPU_CHECK_SWEEP_ARGS / GPU_CHECK_SIM_ARGS   override a benchmark's arguments
#   JAX_CUDA_EXTRA       cuda12 | cuda13 (default: from the driver's CUDA version in nvidia-smi)
# Installing: `pip install "jax[cudaNN]==<installed jax version>"`, from wheels/ (pip --no-index --find-links
# wheels) when that folder exists (machines without a registry: fill it on a connected machine with
# `pip download -d wheels "jax[cuda12]==0.10.2" flax optax orbax-checkpoint ml-collections absl-py matplotlib tqdm`).
# A benchmark script that is missing (scripts/benchmark_simulate.py before the simulator is merged) is skipped
# with a message; a failing one is reported and the others still run. Exit status: 1 if any benchmark failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
START=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET_S:-280}
if [[ -n "${OUT:-}" ]]; then FILE="$OUT/gpu_check.txt"; else FILE="runs/gpu_check.txt"; fi
mkdir -p "$(dirname "$FILE")"
: > "$FILE"
log() { echo "$@" | tee -a "$FILE"; }
run_logged() { "$@" 2>&1 | tee -a "$FILE"; return "${PIPESTATUS[0]}"; }
left() { echo $(( BUDGET - ($(date +%s) - START) )); }

HAVE_GPU=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then HAVE_GPU=1; fi
SIZE=${GPU_CHECK_SIZE:-$([[ $HAVE_GPU == 1 ]] && echo gpu || echo cpu)}
log "== turbjax gpu_check $(date -u '+%Y-%m-%d %H:%M:%S UTC'), size=$SIZE, budget ${BUDGET}s, output $FILE"
[[ $HAVE_GPU == 1 ]] && run_logged nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

# ---------------------------------------------------------------------------------------------------- install
jax_backend() { "$PY" -c "import jax; print(jax.default_backend())" 2>/dev/null; }
if [[ $HAVE_GPU == 1 && "$(jax_backend)" != "gpu" ]]; then
    JAXVER=$("$PY" -c "import jax; print(jax.__version__)" 2>/dev/null || echo "")
    CUDA_MAJOR=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9]*\).*/\1/p' | head -1)
    EXTRA=${JAX_CUDA_EXTRA:-cuda$([[ "${CUDA_MAJOR:-12}" -ge 13 ]] && echo 13 || echo 12)}
    SPEC="jax[$EXTRA]${JAXVER:+==$JAXVER}"
    if [[ -d wheels ]]; then
        log "== installing $SPEC from wheels/ (no registry)"
        run_logged timeout 150 "$PY" -m pip install -q --no-index --find-links wheels "$SPEC" \
            flax optax orbax-checkpoint ml-collections absl-py matplotlib tqdm
    else
        log "== installing $SPEC from the package registry"
        run_logged timeout 150 "$PY" -m pip install -q "$SPEC"
    fi
    [[ "$(jax_backend)" == "gpu" ]] || log "!! JAX still does not see the GPU after installing $SPEC; the figures below are CPU figures"
fi
run_logged "$PY" -c "
import jax, os
d = jax.devices()
print(f'jax {jax.__version__}, backend {jax.default_backend()}, {len(d)} device(s): {d[0].device_kind}; {os.cpu_count()} CPUs')
" || { log "!! cannot import jax with $PY; set PYTHON=... to an interpreter with turbjax's dependencies"; exit 1; }

# ------------------------------------------------------------------------------------------------- settings
case "$SIZE" in
    gpu)
        TRAIN_ARGS="--epochs 5 --rounds 3 --tta default"
        SWEEP_ARGS="--epochs 5 --repeats 2 --hlo"
        SIM_ARGS="--steps 4000 --rounds 2"
        CNN_ARGS="--rounds 3" ;;
    cpu)
        TRAIN_ARGS="--epochs 2 --rounds 1 --tta none"
        SWEEP_ARGS="--epochs 1 --repeats 1 --train 480 --features 1024 --per-program 4"
        SIM_ARGS="--steps 200 --rounds 1"
        CNN_ARGS="--rounds 1 --variants custom,gap" ;;
    small)
        TRAIN_ARGS="--epochs 1 --rounds 1 --tta none"
        SWEEP_ARGS="--epochs 1 --repeats 1 --train 64 --features 32 --hidden 8,8 --per-program"
        SIM_ARGS="--steps 20 --rounds 1"
        CNN_ARGS="--rounds 1 --epochs 1 --variants custom" ;;
    *) log "!! GPU_CHECK_SIZE=$SIZE; expected gpu, cpu or small"; exit 2 ;;
esac
TRAIN_ARGS=${GPU_CHECK_TRAIN_ARGS:-$TRAIN_ARGS}
SWEEP_ARGS=${GPU_CHECK_SWEEP_ARGS:-$SWEEP_ARGS}
SIM_ARGS=${GPU_CHECK_SIM_ARGS:-$SIM_ARGS}
CNN_ARGS=${GPU_CHECK_CNN_ARGS:-$CNN_ARGS}

# ------------------------------------------------------------------------------------------------ seed data
# A fresh accelerator machine has no data/: generate the seed data set there (timed: the simulator's end-to-end
# figure on this device), so the training benchmark and its time to accuracy use the real data, not the
# synthetic fallback. GPU_CHECK_SEED=0 skips this step.
FAILED=0
SEED_DIR=${GPU_CHECK_SEED_DIR:-data/vortex_street}
if [[ $SIZE == gpu && ${GPU_CHECK_SEED:-1} == 1 ]]; then
    if (( $(ls "$SEED_DIR"/vortex_street_Re_*.npz 2>/dev/null | wc -l) >= 4 )); then
        log "== seed data: found in $SEED_DIR"
    else
        log "== seed data: $PY -m turbjax.simulate --re 300 600 900 1200 --out $SEED_DIR --no-progress"
        T0=$(date +%s)
        if run_logged timeout 240 "$PY" -m turbjax.simulate --re 300 600 900 1200 --out "$SEED_DIR" --no-progress; then
            log "== seed data: done in $(( $(date +%s) - T0 ))s (wall, compile and writing included)"
        else
            log "!! seed data: generation failed; the training benchmark falls back to synthetic data"; FAILED=1
        fi
    fi
fi

# ------------------------------------------------------------------------------------------------ benchmarks
accepted() {  # script, args...: the "--flag [value]" pairs whose flag the script's --help lists (the sibling
              # scripts are still changing; a dropped flag is reported, never a failed run)
    local script=$1; shift
    local help; help=$("$PY" "$script" --help 2>/dev/null)
    local out=() dropped=()
    while (( $# )); do
        local flag=$1 vals=(); shift
        while (( $# )) && [[ $1 != --* ]]; do vals+=("$1"); shift; done
        if grep -q -- "${flag}\b" <<< "$help"; then out+=("$flag" "${vals[@]}"); else dropped+=("$flag"); fi
    done
    (( ${#dropped[@]} )) && echo "   (not accepted by $script, dropped: ${dropped[*]})" >&2
    echo "${out[@]}"
}
bench() {  # name, script, share of the remaining budget in percent, args...
    local name=$1 script=$2 share=$3; shift 3
    if [[ ! -f "$script" ]]; then
        log "== $name: SKIPPED, $script is not in this checkout (not merged yet)"
        return
    fi
    # shellcheck disable=SC2046
    set -- $(accepted "$script" "$@" 2> >(tee -a "$FILE" >&2))
    local t=$(( $(left) * share / 100 ))
    if (( t < 20 )); then log "== $name: SKIPPED, only $(left)s of the budget left"; return; fi
    log "== $name: $PY $script $* (time limit ${t}s)"
    local t0; t0=$(date +%s)
    run_logged timeout "$t" "$PY" "$script" "$@"
    local rc=$?
    if (( rc == 124 )); then log "!! $name: stopped after ${t}s (time limit)"; FAILED=1
    elif (( rc != 0 )); then log "!! $name: failed with exit status $rc"; FAILED=1
    else log "== $name: done in $(( $(date +%s) - t0 ))s"; fi
}
# shellcheck disable=SC2086
bench "sweep benchmark" scripts/benchmark_sweep.py 40 $SWEEP_ARGS
# shellcheck disable=SC2086
bench "training benchmark" scripts/benchmark_train.py 60 $TRAIN_ARGS
# shellcheck disable=SC2086
bench "cnn benchmark" scripts/benchmark_cnn.py 50 $CNN_ARGS
# shellcheck disable=SC2086
bench "simulator benchmark" scripts/benchmark_simulate.py 100 $SIM_ARGS
log "== gpu_check finished in $(( $(date +%s) - START ))s; figures in $FILE"
exit $FAILED
