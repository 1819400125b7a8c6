#!/usr/bin/env bash
# One epoch of `aae_semi_supervised --n_labels 100 --batch_norm --n_train 10000 --epochs 1`, end to end (training,
# validation, checkpoint), at commit 078da16 (before the fused optimizers) and now with each speed option, alternating,
# in one sitting: 'default' is the command as a user types it (since 0.3 `--precision auto`: bfloat16 on a CPU that
# has it natively, float32 elsewhere). The fit's wall time comes from each run's results file.
#
#   bash benchmarks/end_to_end.sh [rounds]      # from a checkout with aae_nb installed (pip install -e .); ~1 min a round
#
# Writes benchmarks/end_to_end_cpu.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/old" 2>/dev/null || true; rm -rf "$tmp"' EXIT  # however the run ends
git worktree add -f "$tmp/old" 078da16 >/dev/null 2>&1
script=$(command -v aae_semi_supervised)
export MPLBACKEND=Agg
declare -A opts=([old]="" [fastai]="--optimizer fastai --precision fp32" [fp32]="--precision fp32" [default]="" [joint]="--joint_adversaries")
order="old fastai fp32 default joint"
out=benchmarks/end_to_end_cpu.txt
{
echo "# bash benchmarks/end_to_end.sh $rounds; $(python -c 'from aae_nb.results import device_name; print(device_name("cpu"))')"
echo "# fit seconds (1 epoch of 10,000 images, validation on 10,000, checkpoint) and test error; 'old' is commit 078da16"
for r in $(seq "$rounds"); do
  for v in $order; do
    if [ "$v" = old ]; then pp="$tmp/old"; else pp="$PWD"; fi
    PYTHONPATH="$pp" python "$script" --n_labels 100 --batch_norm --n_train 10000 --epochs 1 --out "$tmp/$v$r" ${opts[$v]} >/dev/null 2>&1
    python -c "import json, glob; r = json.load(open(glob.glob('$tmp/$v$r/results/*.json')[0])); print(f\"round $r {'$v':7s} {r['wall_seconds']:6.1f} s  test error {100 * r['value']:.2f}%  {r['config'].get('precision') or 'fp32'}\")"
  done
done
} | tee "$out"
python - "$out" <<'EOF'
import re, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith('round')]
med = {v: statistics.median(float(r[3]) for r in rows if r[2] == v) for v in dict.fromkeys(r[2] for r in rows)}
lines = [f"median {v:7s} {s:6.1f} s  {med['old'] / s:.2f}x faster than 078da16" for v, s in med.items()]
open(sys.argv[1], 'a').write('\n'.join(lines) + '\n'); print('\n'.join(lines))
EOF
