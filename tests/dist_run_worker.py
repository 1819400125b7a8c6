"""One process of tests/test_distributed.py's stop-and-resume test, under `torchrun --nproc_per_node 2`:
`python dist_run_worker.py OUT NAME [stop|stop_last|resume]` runs §5 on sklearn's digits through the runner. With `stop`, only
the second process is 'asked to stop' (as by a Ctrl-C that reached it alone) in the third batch of the second epoch; with
`stop_last`, in the last epoch's validation, after the last training batch has shared the processes' stop flags."""
import sys
from fastai.callback.core import Callback
from aae_nb.distributed import world
from aae_nb.runner import RunInterrupted
from aae_nb.semisupervised import SEMI_SUPERVISED

out, name, how = sys.argv[1], sys.argv[2], (sys.argv[3:] or [''])[0]

class AskOneProcessToStop(Callback):
    order = -30  # where a signal handler would have set it: before the processes compare notes
    def __init__(self, last:bool): self.last = last
    def after_batch(self):
        at = (not self.training and self.epoch == 2) if self.last else (self.training and self.epoch == 1 and self.iter == 2)
        if at and world().rank == 1: next(cb for cb in self.learn.cbs if hasattr(cb, 'stopped_by')).stopped_by = 'a test'

try:
    SEMI_SUPERVISED.run(dataset='digits', n_labels=50, epochs=3, width=32, bs=20, out=out, name=name, resume=how == 'resume',
                          cbs=[AskOneProcessToStop(how == 'stop_last')] if how.startswith('stop') else None)
except RunInterrupted as e:
    print(f"rank {world().rank} stopped: {e}")
    sys.exit(130)
