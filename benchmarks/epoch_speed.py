"""Training speed of the semi-supervised AAE (§5: batch norm, 100 labels, width 1000), one process, paths interleaved
on the same batches: fastai's optimizers (the path before 0.2), the fused optimizers in float32, fused with bfloat16
forward passes (the default since 0.3 on a CPU with native bfloat16: `--precision auto`), the same with both
adversaries in one phase (--joint_adversaries), and hand-written PyTorch loops of the same phases with the same
optimizations: a bare one (constant rates, nothing recorded) and one doing the same job as our learner (the one-cycle
schedule from torch's OneCycleLR, the epoch means of the same losses and accuracies).

    python benchmarks/epoch_speed.py                  # about 5 minutes on a 2-core CPU
    python benchmarks/epoch_speed.py --threads 1 --rounds 3

A path's time in a round is the median, over one epoch's training batches, of the time from the start of one batch to
the start of the next: the steady state of a long epoch, without what each fit or epoch does once (a fit's fresh phase
optimizers, the allocator's trim after each epoch). Every round times every path on the same batches, in a shuffled
order, the paths that are compared (ours and the hand loops, in one precision) one right after the other; the table
gives each path's median over rounds, and our extra time over a hand loop is the median over rounds of the two paths'
ratio in a round. Writes benchmarks/epoch_speed_<device>.txt. Validation is not timed: both loops would do the same.
The CPU this was written on swings by 20% and more from one second to the next: trust the medians of many rounds.
"""
import argparse, random, statistics, sys, time
from functools import partial
from pathlib import Path
import torch
import torch.nn.functional as F
from fastai.callback.core import Callback
from fastai.torch_core import no_random
from aae_nb.data import load_mnist, Split, aae_dataloaders, balanced_label_indices
from aae_nb.semisupervised import semi_supervised_learner, BalancedBatches
from aae_nb.phases import half_sse, autoencoder_params
from aae_nb.results import device_name
from aae_nb.runner import auto_precision

def per_batch(starts:list)->float:
    "Milliseconds from the start of one training batch to the start of the next, median over an epoch's batches"
    return 1000 * statistics.median(b - a for a, b in zip(starts, starts[1:]))

class BatchTimer(Callback):
    "When each training batch starts: before anything else of the batch (the data is already loaded by then, the previous batch's fetch included)"
    order = -1000
    def before_train(self): self.starts = []
    def before_batch(self):
        if self.training: self.starts.append(time.perf_counter())

def bench_data(n_train:int):
    "The first `n_train` MNIST training images (and 100 validation images), and 100 of them labelled, 10 a class: what every path trains on"
    mnist = load_mnist(fetch=True)
    x, y = mnist['train'].x[:n_train], mnist['train'].y[:n_train]
    idx = balanced_label_indices(y, 100)
    return {'train': Split(x, y), 'valid': Split(mnist['valid'].x[:100], mnist['valid'].y[:100])}, Split(x[idx], y[idx])

def learner(data, labelled, device, optimizer, precision, joint=False):
    with no_random(0):
        dls = aae_dataloaders(data['train'], data['valid'], bs=100, device=device)
        learn = semi_supervised_learner(dls, labelled, batch_norm=True, joint_adversaries=joint).speed_up(optimizer, precision)
    learn.add_cb(BatchTimer())
    return learn

def ours(learn)->float:
    "One epoch (one fit) of our callbacks: the median ms from one training batch's start to the next"
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    return per_batch(learn.batch_timer.starts)

class HandLoop:
    """The same model and phases in a plain loop: reconstruction, y and z adversaries (each encodes the batch again),
    classification. `same_job`: also what our learner does besides the phases, the way a hand-written loop would: the
    one-cycle schedule of `fit_one_cycle` from torch's `OneCycleLR` (learning rate and momentum of the reconstruction,
    the learning rate of the other five optimizers at their multiples), and the epoch means of the same losses and
    accuracies. Without it the loop trains at constant rates and records nothing."""
    def __init__(self, data, labelled, device, precision, same_job=False):
        with no_random(0): learn = semi_supervised_learner(aae_dataloaders(data['train'], data['valid'], bs=100, device=device), labelled, batch_norm=True)
        self.m, self.dev, self.x, self.lab = learn.model.to(device), device, data['train'].x, labelled
        self.bf16, self.same_job = precision == 'bf16', same_job
        adam = partial(torch.optim.AdamW, lr=1e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01, fused=True)
        m = self.m
        self.rec = adam(autoencoder_params(m)[0])
        self.disc = {k: adam(m.discriminators[k].parameters()) for k in ('y', 'z')}
        self.gen = {k: adam(m.encoder.parameters()) for k in ('y', 'z')}
        self.cls = partial(torch.optim.AdamW, lr=5e-3, betas=(0.9, 0.99), eps=1e-5, weight_decay=0.01, fused=True)(m.encoder.parameters())
        self.batches = BalancedBatches(labelled.y, 100, 10)
        self.params = list(m.parameters())

    def _step(self, loss, opt):
        for p in self.params: p.grad = None
        loss.backward(); opt.step()

    def _schedules(self, n):
        "fit_one_cycle(1, 1e-3)'s schedule over `n` batches: cosine warm-up over a quarter from lr/25, cosine down to lr/1e5; momentum 0.95-0.85-0.95 on the reconstruction"
        one_cycle = partial(torch.optim.lr_scheduler.OneCycleLR, total_steps=n, pct_start=0.25, div_factor=25., final_div_factor=4e3)
        return [one_cycle(self.rec, max_lr=1e-3, base_momentum=0.85, max_momentum=0.95)] + \
               [one_cycle(o, max_lr=o.defaults['lr'], cycle_momentum=False) for o in (*self.disc.values(), *self.gen.values(), self.cls)]

    def epoch(self)->float:
        m, bce = self.m, F.binary_cross_entropy_with_logits
        m.train()
        order = torch.randperm(len(self.x))
        n = len(self.x) // 100
        if self.same_job: scheds, sums = self._schedules(n), {}  # as fit_one_cycle makes its scheduler before the epoch
        starts = []
        for i in range(n):
            starts.append(time.perf_counter())
            x = self.x[order[i * 100:(i + 1) * 100]].to(self.dev)
            with torch.autocast(torch.device(self.dev).type, dtype=torch.bfloat16, enabled=self.bf16, cache_enabled=False):  # steps inside: no stale casts
                xn = x + 0.3 * torch.randn_like(x)
                rec = half_sse(m(xn), x)
                self._step(rec, self.rec)
                logs = {'rec': rec.detach()}
                for k in ('y', 'z'):
                    code = m.encode(xn)[k]
                    real = torch.eye(10, device=x.device)[torch.randint(10, (100,), device=x.device)] if k == 'y' else torch.randn(100, 10, device=x.device)
                    d = m.discriminators[k]
                    lr_, lf = d(real), d(code.detach())
                    dl = (bce(lr_, torch.ones_like(lr_)) + bce(lf, torch.zeros_like(lf))) / 2
                    self._step(dl, self.disc[k])
                    d.requires_grad_(False)
                    g = d(code)
                    d.requires_grad_(True)
                    gl = bce(g, torch.ones_like(g))
                    self._step(gl, self.gen[k])
                    if self.same_job: logs |= {f'{k}_disc': dl.detach(), f'{k}_gen': gl.detach(), f'{k}_acc': ((lr_ > 0).float().mean() + (lf < 0).float().mean()) / 2}
                idx = next(self.batches)
                xl = self.lab.x[idx].to(self.dev)
                cl = F.cross_entropy(m.encode(xl + 0.3 * torch.randn_like(xl))['logits'], self.lab.y[idx].to(self.dev))
                self._step(cl, self.cls)
            if self.same_job:
                for s in scheds: s.step()
                for k, v in (logs | {'class': cl.detach()}).items(): sums[k] = sums.get(k, 0.) + v
        if self.same_job: self.means = {k: (v / n).item() for k, v in sums.items()}
        return per_batch(starts)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--n_train', type=int, default=3000, help='Training images per timed epoch')
    p.add_argument('--rounds', type=int, default=15, help='Rounds; each times every path once')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default torch\'s)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default=str(Path(__file__).parent))
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    data, labelled = bench_data(a.n_train)
    paths = {'callbacks, fastai Adam, fp32 (before 0.2)': partial(ours, learner(data, labelled, a.device, 'fastai', 'fp32')),
             'callbacks, fused AdamW, fp32': partial(ours, learner(data, labelled, a.device, 'fused', 'fp32')),
             'callbacks, fused AdamW, bf16': partial(ours, learner(data, labelled, a.device, 'fused', 'bf16')),
             'callbacks, fused AdamW, bf16, joint adversaries': partial(ours, learner(data, labelled, a.device, 'fused', 'bf16', joint=True)),
             'hand-written loop, fused AdamW, fp32': HandLoop(data, labelled, a.device, 'fp32').epoch,
             'hand-written loop, fused AdamW, bf16': HandLoop(data, labelled, a.device, 'bf16').epoch,
             'hand-written loop, same job, fp32': HandLoop(data, labelled, a.device, 'fp32', same_job=True).epoch,
             'hand-written loop, same job, bf16': HandLoop(data, labelled, a.device, 'bf16', same_job=True).epoch}
    for f in paths.values(): f()  # warm up
    times = {k: [] for k in paths}
    # every path once a round; the paths compared with each other (ours and the hand loops, in one precision) one after
    # the other, so that they meet the same state of a machine whose speed drifts; groups and paths in a group shuffled per round
    groups = [[k for k in paths if k.endswith(prec) and 'fastai' not in k] for prec in ('fp32', 'bf16')]
    groups += [[k] for k in paths if not any(k in g for g in groups)]
    for r in range(a.rounds):
        rng = random.Random(r)
        for g in rng.sample(groups, len(groups)):
            for k in rng.sample(g, len(g)): times[k].append(paths[k]())
        print(f"round {r + 1}: " + ', '.join(f"{v[-1]:.0f}" for v in times.values()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med['callbacks, fastai Adam, fp32 (before 0.2)']
    lines = [f"# {' '.join(['python benchmarks/epoch_speed.py', *(argv if argv is not None else sys.argv[1:])])}",
             f"# {device_name(a.device)}; torch {torch.__version__}; {a.n_train} images (bs 100) per epoch, {a.rounds} rounds, median ms per batch",
             f"{'path':50s} {'ms/batch':>9s} {'speed-up':>9s}"]
    default = f"callbacks, fused AdamW, {auto_precision(a.device)}"
    lines += [f"{k + (' (default)' if k == default else ''):50s} {v:9.1f} {base / v:8.2f}x" for k, v in med.items()]
    def excess(ours, theirs):  # the median over rounds of ours/theirs timed in the same round: slow swings of the machine cancel
        return 100 * (statistics.median(o / t for o, t in zip(times[ours], times[theirs])) - 1)
    lines.append("our callbacks' extra time per batch over each hand-written loop: the median over rounds of the two paths' ratio in a round")
    for prec in ('fp32', 'bf16'):
        cb = f"callbacks, fused AdamW, {prec}"
        lines.append(f"our callbacks vs the hand-written loop, {prec}: {excess(cb, f'hand-written loop, fused AdamW, {prec}'):+.1f}%")
        lines.append(f"our callbacks vs the hand-written loop doing the same job, {prec}: {excess(cb, f'hand-written loop, same job, {prec}'):+.1f}%")
    text = '\n'.join(lines) + '\n'
    print(text)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out)/f"epoch_speed_{a.device.replace(':', '')}.txt").write_text(text)

if __name__ == '__main__': main()
