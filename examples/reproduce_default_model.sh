#!/usr/bin/env bash
# Rebuild the default model shipped in weights/ (seqjepa.DEFAULT_MODEL = "tiny-toy3diebench") from scratch
# on a CPU, and measure it on held-out procedural objects. About 50 minutes on 2 cores (most of it the probes).
# Usage: bash examples/reproduce_default_model.sh [WORKDIR]
set -euo pipefail
work=${1:-seqjepa-default-model}
mkdir -p "$work"

# 1. data: 1,600 objects (8 shape classes, 1,280 train / 320 held-out val) x 20 views at 32 px, seed 0;
#    white light, the same colour for face k of every object, Euler angles within +-45 degrees
seqjepa make-toy-3diebench "$work/toy" --objects 1600 --views 20 --classes 8 --size 32 --seed 0 \
  --light white --face-colors canonical --max-angle 45

# 2. the model, and the ablation trained without action conditioning
seqjepa train --recipe toy-3diebench --data-root "$work/toy" --output "$work/run" --device cpu
seqjepa train --recipe toy-3diebench --data-root "$work/toy" --output "$work/run-noaction" --device cpu \
  --set model.action_conditioned=false --set model.learn_action_embedding=false

# 3. inference exports (no target encoder) and the paper's 3DIEBench protocol on the held-out objects
for run in run run-noaction; do
  seqjepa export-run "$work/$run" --to "$work/$run-export" --inference-only
  seqjepa eval --model "$work/$run-export" --data-root "$work/toy" --protocol 3diebench-rot \
    --out "$work/$run-eval" --device cpu --epochs 1000 --redraw 20 --no-cache
done
