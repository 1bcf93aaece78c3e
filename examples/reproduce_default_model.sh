#!/usr/bin/env bash
# Rebuild the default model shipped in weights/ (seqjepa.DEFAULT_MODEL = "tiny-toy3diebench") from scratch
# on a CPU, and measure it on objects of a fresh data seed it never trained on. About half an hour of training
# on one CPU thread (37 minutes for the whole script on a two-core machine with a second job beside it), then a
# few minutes of probes. On one thread the training is deterministic: checked on the machine kind that trained
# the shipped model, it rebuilt weights with the card's sha256.
# Usage: bash examples/reproduce_default_model.sh [WORKDIR] [EVAL_SEED]
set -euo pipefail
work=${1:-seqjepa-default-model}
eval_seed=${2:-4}
mkdir -p "$work"
scene=(--objects 1600 --views 20 --classes 8 --size 32 --light white --face-colors independent --max-angle 45)

# 1. data: the training set (data seed 0: 1,280 train / 320 val objects x 20 views at 32 px) and a fresh
#    evaluation set; every face draws its own colour, white light, Euler angles within +-45 degrees
[ -f "$work/toy/toy.json" ] || seqjepa make-toy-3diebench "$work/toy" --seed 0 "${scene[@]}"
[ -f "$work/toy-eval/toy.json" ] || seqjepa make-toy-3diebench "$work/toy-eval" --seed "$eval_seed" "${scene[@]}"

# 2. the model: 500 epochs of the toy recipe (M_tr = 1), the data decoded once into memory (rerun to resume)
OMP_NUM_THREADS=1 seqjepa train --recipe toy-3diebench --data-root "$work/toy" --output "$work/run" --device cpu \
  --resume auto

# 3. the inference export (no target encoder), and the 3DIEBench rotation protocol on the fresh objects with the
#    probe settings of the card's numbers: probes trained on the evaluation set's train split, scored on its val split
seqjepa export-run "$work/run" --to "$work/model" --inference-only
seqjepa eval --model "$work/model" --data-root "$work/toy-eval" --protocol 3diebench-rot --out "$work/eval" \
  --device cpu --max-views 8 --epochs 200 --redraw 5 --no-cache

# 4. each number beside the card's mean and spread over data seeds 1, 2 and 3
python - "$work/eval/report.json" "$work/model/model.safetensors" <<'PY'
import hashlib, json, sys
import seqjepa
from seqjepa.eval.reference import card_numbers

report = json.load(open(sys.argv[1]))
pretrained = seqjepa.get_pretrained_cfg("tiny-toy3diebench")
rebuilt = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
print("weights: identical to the shipped ones" if rebuilt == pretrained.source.sha256 else
      f"weights: sha256 {rebuilt[:16]}..., the shipped ones {pretrained.source.sha256[:16]}... (other threads, "
      "hardware or torch versions round differently; the numbers below say whether it is the same model)")
card = card_numbers(pretrained)
rows = [("top1_z", None), *(("top1_zagg", m) for m in sorted(card.get("top1_zagg", {}), key=int)), *(("r2", k) for k in card.get("r2", {}))]
for key, sub in rows:
    want = card[key] if sub is None else card[key][sub]
    spread = card["spread"][key] if sub is None else card["spread"][key][sub]
    got = report[key] if sub is None else report[key][sub]
    inside = abs(got - want) <= 2 * spread
    print(f"{key}{'' if sub is None else '[' + sub + ']'}: {got:.3f}, card {want:.3f} ± {spread:.3f}: {'within' if inside else 'OUTSIDE'} two spreads")
PY
