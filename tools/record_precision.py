"""Make `--precision fp32` explicit in the recorded commands of runs made before `--precision auto` became the default
(0.3): without it, their commands would re-create them in bfloat16 on a CPU that has it. Only the command changes:
`--precision fp32` goes in before its `--name`.

    python tools/record_precision.py results/*.json results/*/*.json
"""
import json, shlex, sys
from pathlib import Path
from aae_nb.commands import command_parser
from aae_nb.basic import BASIC
from aae_nb.clustering import CLUSTERING
from aae_nb.conditioned import CONDITIONED
from aae_nb.dimreduction import DIM_REDUCTION
from aae_nb.semisupervised import SEMI_SUPERVISED
from aae_nb.supervised import SUPERVISED

EXPERIMENTS = {e.command: e for e in (BASIC, CLUSTERING, CONDITIONED, DIM_REDUCTION, SEMI_SUPERVISED, SUPERVISED)}

def explicit(command:str)->str|None:
    "The command with `--precision fp32` made explicit, or None where it has nothing to change"
    words = shlex.split(command)
    at = next((i for i, w in enumerate(words) if w in EXPERIMENTS), None)
    if at is None or '--precision' in words: return None
    command_parser(EXPERIMENTS[words[at]]).parse_args(words[at + 1:])  # a command the experiment still takes
    name = words.index('--name')
    return shlex.join(words[:name] + ['--precision', 'fp32'] + words[name:])

def main(paths:list):
    for p in map(Path, paths):
        r = json.loads(p.read_text())
        new = explicit(r.get('command') or '')
        if new is None: continue
        raw = p.read_text()
        old = json.dumps(r['command'])
        assert raw.count(old) == 1, p
        p.write_text(raw.replace(old, json.dumps(new)))  # only the command changes, byte for byte elsewhere
        print(f"{p}: {new}")

if __name__ == '__main__':
    if len(sys.argv) < 2: sys.exit(__doc__)
    main(sys.argv[1:])
