"""Training speed of the semi-supervised AAE (§5: batch norm, 100 labels, width 1000), one process, paths interleaved
on the same batches: fastai's optimizers (the path before 0.2), the fused optimizers in float32, fused with bfloat16
forward passes (the default since 0.3 on a CPU with native bfloat16: `--precision auto`), the same with both
adversaries in one phase (--joint_adversaries), and a hand-written PyTorch loop doing the same phases with the same
optimizations.

    python benchmarks/epoch_speed.py                  # about 5 minutes on a 2-core CPU
    python benchmarks/epoch_speed.py --threads 1 --rounds 3

Prints milliseconds per training batch (median over rounds, each round times every path on the same batches in turn)
and writes benchmarks/epoch_speed_<device>.txt. Validation is not timed: both loops would do the same.
"""
import argparse, os, statistics, sys, time
from functools import partial
from pathlib import Path
import torch
import torch.nn.functional as F
from fastai.callback.core import Callback
from fastai.torch_core import no_random
from aae_nb.data import load_mnist, Split, aae_dataloaders, balanced_label_indices
from aae_nb.semisupervised import semi_supervised_learner, BalancedBatches
from aae_nb.training import half_sse, autoencoder_params
from aae_nb.results import device_name
from aae_nb.runner import auto_precision

class TrainTimer(Callback):
    "Seconds of the training part of each epoch"
    order = 200
    def before_train(self): self.t0 = time.perf_counter()
    def after_train(self): self.seconds = time.perf_counter() - self.t0

def learner(data, labelled, device, optimizer, precision, joint=False):
    with no_random(0):
        dls = aae_dataloaders(data['train'], data['valid'], bs=100, device=device)
        learn = semi_supervised_learner(dls, labelled, batch_norm=True, joint_adversaries=joint).speed_up(optimizer, precision)
    learn.add_cb(TrainTimer())
    return learn

def ours(learn)->float:
    "ms per training batch of one epoch of our callbacks"
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    return 1000 * learn.train_timer.seconds / len(learn.dls.train)

class HandLoop:
    "The same model and phases in a plain loop: reconstruction, y and z adversaries (each encodes the batch again), classification"
    def __init__(self, data, labelled, device, precision):
        with no_random(0): learn = semi_supervised_learner(aae_dataloaders(data['train'], data['valid'], bs=100, device=device), labelled, batch_norm=True)
        self.m, self.dev, self.x, self.lab = learn.model.to(device), device, data['train'].x, labelled
        self.bf16 = precision == 'bf16'
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

    def epoch(self)->float:
        m, bce = self.m, F.binary_cross_entropy_with_logits
        m.train()
        order = torch.randperm(len(self.x))
        n = len(self.x) // 100
        t0 = time.perf_counter()
        for i in range(n):
            x = self.x[order[i * 100:(i + 1) * 100]].to(self.dev)
            with torch.autocast(torch.device(self.dev).type, dtype=torch.bfloat16, enabled=self.bf16, cache_enabled=False):  # steps inside: no stale casts
                xn = x + 0.3 * torch.randn_like(x)
                self._step(half_sse(m(xn), x), self.rec)
                for k in ('y', 'z'):
                    code = m.encode(xn)[k]
                    real = torch.eye(10, device=x.device)[torch.randint(10, (100,), device=x.device)] if k == 'y' else torch.randn(100, 10, device=x.device)
                    d = m.discriminators[k]
                    lr_, lf = d(real), d(code.detach())
                    self._step((bce(lr_, torch.ones_like(lr_)) + bce(lf, torch.zeros_like(lf))) / 2, self.disc[k])
                    d.requires_grad_(False)
                    g = d(code)
                    d.requires_grad_(True)
                    self._step(bce(g, torch.ones_like(g)), self.gen[k])
                idx = next(self.batches)
                xl = self.lab.x[idx].to(self.dev)
                self._step(F.cross_entropy(m.encode(xl + 0.3 * torch.randn_like(xl))['logits'], self.lab.y[idx].to(self.dev)), self.cls)
        return 1000 * (time.perf_counter() - t0) / n

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--n_train', type=int, default=2000, help='Training images per timed epoch')
    p.add_argument('--rounds', type=int, default=5, help='Rounds; each times every path once')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default torch\'s)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default=str(Path(__file__).parent))
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    mnist = load_mnist(fetch=True)
    data = {'train': Split(mnist['train'].x[:a.n_train], mnist['train'].y[:a.n_train]), 'valid': Split(mnist['valid'].x[:100], mnist['valid'].y[:100])}
    labelled = Split(*[t[balanced_label_indices(mnist['train'].y[:a.n_train], 100)] for t in (mnist['train'].x[:a.n_train], mnist['train'].y[:a.n_train])])
    paths = {'callbacks, fastai Adam, fp32 (before 0.2)': partial(ours, learner(data, labelled, a.device, 'fastai', 'fp32')),
             'callbacks, fused AdamW, fp32': partial(ours, learner(data, labelled, a.device, 'fused', 'fp32')),
             'callbacks, fused AdamW, bf16': partial(ours, learner(data, labelled, a.device, 'fused', 'bf16')),
             'callbacks, fused AdamW, bf16, joint adversaries': partial(ours, learner(data, labelled, a.device, 'fused', 'bf16', joint=True)),
             'hand-written loop, fused AdamW, fp32': HandLoop(data, labelled, a.device, 'fp32').epoch,
             'hand-written loop, fused AdamW, bf16': HandLoop(data, labelled, a.device, 'bf16').epoch}
    for f in paths.values(): f()  # warm up
    times = {k: [] for k in paths}
    for r in range(a.rounds):
        for k, f in paths.items(): times[k].append(f())
        print(f"round {r + 1}: " + ', '.join(f"{v[-1]:.0f}" for v in times.values()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med['callbacks, fastai Adam, fp32 (before 0.2)']
    lines = [f"# {' '.join(['python benchmarks/epoch_speed.py', *(argv if argv is not None else sys.argv[1:])])}",
             f"# {device_name(a.device)}; torch {torch.__version__}; {a.n_train} images (bs 100) per epoch, {a.rounds} rounds, median ms per batch",
             f"{'path':50s} {'ms/batch':>9s} {'speed-up':>9s}"]
    default = f"callbacks, fused AdamW, {auto_precision(a.device)}"
    lines += [f"{k + (' (default)' if k == default else ''):50s} {v:9.1f} {base / v:8.2f}x" for k, v in med.items()]
    for prec in ('fp32', 'bf16'):
        cb, hand = med[f"callbacks, fused AdamW, {prec}"], med[f"hand-written loop, fused AdamW, {prec}"]
        lines.append(f"our callbacks vs the hand-written loop, {prec}: {100 * (cb / hand - 1):+.1f}%")
    text = '\n'.join(lines) + '\n'
    print(text)
    (Path(a.out)/f"epoch_speed_{a.device.replace(':', '')}.txt").write_text(text)

if __name__ == '__main__': main()
