"""Run the command of a run with labels (§5's, §7's labelled maps) and keep, after every epoch, which class q(y|x) gives
each validation image: research on when a run makes its mistakes. The recorder only reads the codes the validation
pass has computed, so the run trains and writes exactly what the command alone would (its results file, command and
all); the predictions go beside the results file, as `<name>_predictions.npz` (`epoch_k`: int8, one per image).

    python tools/predictions_by_epoch.py aae_semi_supervised --epochs 64 --seed 4 ... --name research/x --out /tmp/runs
"""
import os, sys
from pathlib import Path
import numpy as np
import torch
from fastai.callback.core import Callback
from aae_nb.commands import command_parser, usage_exit
from aae_nb.runner import run, results_path, RunInterrupted, UsageError
from aae_nb.dimreduction import DIM_REDUCTION
from aae_nb.semisupervised import SEMI_SUPERVISED

EXPERIMENTS = {e.command: e for e in (DIM_REDUCTION, SEMI_SUPERVISED)}

class PredictionsByEpoch(Callback):
    "After each validation pass of the fit, the most likely class of every validation image, saved to `path` with the labels (all epochs so far; a resumed run adds to its file, any other starts a new one)"
    order = 70
    def __init__(self, path:Path, resume:bool=False):
        self.path, self.fitting = Path(path), False
        self.saved = dict(np.load(self.path)) if resume and self.path.exists() else {}
    def before_fit(self): self.fitting = True
    def after_fit(self): self.fitting = False  # a validation after the fit (the evaluation's) is not an epoch
    def before_validate(self): self.preds, self.labels = [], []
    def after_batch(self):
        if self.training or not self.fitting: return
        self.preds.append(self.learn.model.codes_of(self.learn.xb[0])['y'].argmax(1).to(torch.int8).cpu())
        self.labels.append(self.learn.yb[1].to(torch.int8).cpu())
    def after_validate(self):
        if not self.fitting or not self.preds: return
        self.saved[f'epoch_{len(self.learn.recorder.values) + 1}'] = torch.cat(self.preds).numpy()
        self.saved['labels'] = torch.cat(self.labels).numpy()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(self.path, **self.saved)

def main(argv:list):
    if len(argv) < 2 or argv[0] not in EXPERIMENTS:
        print(__doc__.strip() + f"\n\nerror: give one of {', '.join(EXPERIMENTS)}, then its options", file=sys.stderr); sys.exit(2)
    exp = EXPERIMENTS[argv[0]]
    args = vars(command_parser(exp).parse_args(argv[1:]))
    debug, seeds = args.pop('debug') or os.environ.get('AAE_NB_DEBUG'), args.pop('seeds')
    try:
        if seeds is not None: raise UsageError("give one --seed: the predictions are one run's")
        if int(os.environ.get('WORLD_SIZE', 1)) > 1: raise UsageError("run it as one process, not under torchrun: each process would write its own part of the predictions to one file")
        c = exp.Config(**args)
        name = c.name or exp.run_name(c)
        path = results_path(c, name).with_name(Path(name).name + '_predictions.npz')
        learn, result, _ = run(exp, c, show=True, cbs=[PredictionsByEpoch(path, c.resume)])
    except UsageError as e:  # bad input: one line and status 2, as the command's (--debug: the traceback)
        if debug: raise
        usage_exit(exp, e)
    except RunInterrupted as e:  # Ctrl-C: the run's checkpoint and the predictions so far are kept; go on through this tool, or the rest goes unrecorded
        print(f"{exp.command}: {e.stopped}. To go on: python {sys.argv[0]} {e.resume}", file=sys.stderr); sys.exit(130)
    print(exp.report(result)); print(f"wrote {results_path(c, name)} and {path}")

if __name__ == '__main__':
    main(sys.argv[1:])
