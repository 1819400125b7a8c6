"""One process of the data-parallel tests (tests/test_distributed.py): `python dist_worker.py MODE OUT` alone, or under
`torchrun --standalone --nproc_per_node 2`. Trains §5's model on sklearn's digits and saves its state to OUT/rank<r>.pth.

MODE 'identical': batch norm, input noise, every phase, three batches (each process draws its own noise and samples).
MODE 'broken': the same with the discriminators' gradients left unaveraged (the bug the tests must catch).
MODE 'union': no batch norm or noise, the random draws pinned to the images, the paper's recipe (SGD with momentum:
not scale-invariant as Adam nearly is); three batches of 2x20 images split over the processes (20 each) or whole in one
process (40), so the two runs must take the same three steps.
MODE 'union_sum' and 'union_unaveraged_class': the same with the gradients summed over the processes instead of
averaged, or the classification phase's left unaveraged (the bugs the equivalence test must catch)."""
import sys
from pathlib import Path
import torch
from fastai.torch_core import no_random
from aae_nb.data import load_digits_splits, aae_dataloaders, Split, balanced_label_indices
from aae_nb.distributed import join_processes, leave_processes, DataParallel
import aae_nb.distributed as distributed
from aae_nb.phases import AdversarialRegularizer
from aae_nb.semisupervised import semi_supervised_learner, BalancedBatches

mode, out = sys.argv[1], Path(sys.argv[2])
w, _ = join_processes('cpu')
torch.set_num_threads(1)
d = load_digits_splits()
recipe = 'adam'
if mode.startswith('union'):
    n, bs, class_bs, recipe = 3 * 40, 40 // w.size, 20 // w.size, 'paper'
    wrap = distributed.averaging_step
    def averaging_step(opt, ws):
        if mode == 'union_sum': return _summed(opt)
        if mode == 'union_unaveraged_class' and any(opt is o for cb in learn.cbs if type(cb).__name__ == 'ClassificationPhase' for o, _ in cb._opts): return
        wrap(opt, ws)
    def _summed(opt):  # all_reduce without the division: a sum of the processes' gradients
        if getattr(opt, '_averaged', False): return
        step, params = opt.step, distributed.opt_params(opt)
        def summed_step(*args, **kwargs):
            distributed.average([p.grad for p in params if p.grad is not None], 1)
            return step(*args, **kwargs)
        opt.step, opt._averaged = summed_step, True
    distributed.averaging_step = averaging_step
    def pinned(self, n, yb, device):  # "prior samples" that are a fixed function of each image: the same in either run
        g = torch.Generator().manual_seed(1 if self.key == 'y' else 2)
        proj = yb[0].flatten(1) @ torch.randn(yb[0][0].numel(), self.prior.dim, generator=g)
        return torch.eye(self.prior.dim)[proj.argmax(1)] if self.key == 'y' else torch.tanh(proj)
    AdversarialRegularizer.positives = pinned
    labelled_idx = balanced_label_indices(d['train'].y, 20)  # 20 labelled images: 10 in each process's batch, or all 20 in one
    BalancedBatches.__next__ = lambda self: torch.arange(20)[w.rank * class_bs:(w.rank + 1) * class_bs]
    bn, noise = False, 0.
else:
    bs, class_bs, bn, noise = 50, 50, True, 0.3
    n, labelled_idx = 3 * bs * w.size, balanced_label_indices(d['train'].y, 100)  # three batches in each process
    if mode == 'broken':
        wrap = distributed.averaging_step
        def averaging_step(opt, ws):  # every optimizer but the discriminators' averages
            if not any(p is q for p in distributed.opt_params(opt) for q in learn.model.discriminators.parameters()): wrap(opt, ws)
        distributed.averaging_step = averaging_step
train = Split(d['train'].x[:n], d['train'].y[:n])
with no_random(0):
    dls = aae_dataloaders(train, Split(d['valid'].x[:50], d['valid'].y[:50]), bs=bs, device='cpu')
    learn = semi_supervised_learner(dls, Split(d['train'].x[labelled_idx], d['train'].y[labelled_idx]), hidden=(32, 32), disc_hidden=(16,),
                                    batch_norm=bn, input_noise=noise, class_bs=class_bs, recipe=recipe)
    learn.speed_up('fused')
    if w.size > 1: learn.add_cb(DataParallel())
    start = {k: v.clone() for k, v in learn.model.state_dict().items()}
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3)
torch.save(start, out/f'rank{w.rank}_start.pth')
torch.save({k: v.clone() for k, v in learn.model.state_dict().items()}, out/f'rank{w.rank}.pth')
torch.save(dict(zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1])), out/f'rank{w.rank}_metrics.pth')  # the epoch's losses and accuracies
leave_processes(together=True)  # both processes got here
