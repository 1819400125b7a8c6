"""Step overhead of aae_nb's callbacks against a plain PyTorch loop doing the same AAE updates.

Both sides run, in one process and interleaved, the basic AAE's three updates per batch (reconstruction;
discriminator; generator) on the same model size, batch size and MNIST images, with Adam. The plain loop indexes
the tensors and calls torch.optim.Adam directly; the other side is `AAELearner.fit` (fastai's loop, our
`AdversarialRegularizer`, metrics, recorder), once with fastai's Adam and once with torch's Adam wrapped by fastai's
`OptimWrapper`. Only training batches are timed (no validation). Prints seconds per batch and the ratios.

On CPU, most of the run-to-run spread comes from glibc returning the optimizers' large temporaries to the system
and page-faulting them back in; for steadier numbers keep freed memory in the process, for both sides alike:

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 \
        python benchmarks/step_overhead.py [--batches 100] [--repeats 5] [--width 1000] [--device cpu]
"""
import argparse, statistics, time
from functools import partial
import torch
import torch.nn.functional as F
from fastai.callback.core import Callback
from fastai.optimizer import Adam, OptimWrapper
from aae_nb.data import load_mnist, aae_dataloaders
from aae_nb.model import AdversarialAutoencoder
from aae_nb.priors import Gaussian
from aae_nb.learner import AAELearner
from aae_nb.phases import half_sse

def plain_loop(model, prior, x, n_batches, bs, lr, device):
    "The same updates in plain PyTorch"
    enc, dec, disc = model.encoder, model.decoder, model.discriminators['z']
    opt_ae = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=lr)
    opt_d, opt_g = torch.optim.Adam(disc.parameters(), lr=lr), torch.optim.Adam(enc.parameters(), lr=lr)
    bce = F.binary_cross_entropy_with_logits
    perm = torch.randperm(len(x))
    sync()
    start = time.perf_counter()
    for i in range(n_batches):
        xb = x[perm[i * bs:(i + 1) * bs]].to(device)
        loss = half_sse(dec(enc(xb)), xb)                                 # reconstruction
        opt_ae.zero_grad(set_to_none=True); loss.backward(); opt_ae.step()
        z = enc(xb)
        real = prior.sample(len(z), device=device)                        # discriminator
        lr_, lf = disc(real), disc(z.detach())
        d_loss = (bce(lr_, torch.ones_like(lr_)) + bce(lf, torch.zeros_like(lf))) / 2
        opt_d.zero_grad(set_to_none=True); d_loss.backward(); opt_d.step()
        disc.requires_grad_(False)                                        # generator
        g_out = disc(z)
        disc.requires_grad_(True)
        g_loss = bce(g_out, torch.ones_like(g_out))
        opt_g.zero_grad(set_to_none=True); g_loss.backward(); opt_g.step()
    sync()
    return (time.perf_counter() - start) / n_batches

class TrainTimer(Callback):
    "Times the training batches of an epoch only"
    order = 100
    def before_train(self): sync(); self.start = time.perf_counter()
    def after_train(self): sync(); self.seconds = time.perf_counter() - self.start

def callback_loop(dls, prior, width, lr, n_batches, opt_func):
    model = AdversarialAutoencoder.from_mlp((1, 28, 28), 2, (width, width), disc_hidden=(width, width))
    learn = AAELearner(dls, model, prior, opt_func=opt_func, cbs=TrainTimer())
    with learn.no_bar(), learn.no_logging(): learn.fit(1, lr)
    return learn.train_timer.seconds / n_batches

def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--batches', type=int, default=100)
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--width', type=int, default=1000)
    p.add_argument('--bs', type=int, default=100)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    a = p.parse_args()
    mnist, prior, lr = load_mnist(fetch=True), Gaussian(2), 1e-3
    x = mnist['train'].x
    n = a.batches * a.bs
    dls = aae_dataloaders(mnist['train'], mnist['valid'], bs=a.bs, n_train=n, device=a.device)
    dls.valid.dataset.x, dls.valid.dataset.y = mnist['valid'].x[:a.bs], mnist['valid'].y[:a.bs]  # validation not timed
    dls.valid.n = a.bs
    torch_adam = partial(OptimWrapper, opt=torch.optim.Adam)
    times = {'plain PyTorch': [], 'callbacks, fastai Adam': [], 'callbacks, torch Adam (OptimWrapper)': []}
    runs = {'plain PyTorch': lambda: plain_loop(
                AdversarialAutoencoder.from_mlp((1, 28, 28), 2, (a.width, a.width), disc_hidden=(a.width, a.width)).to(a.device),
                prior, x[:n], a.batches, a.bs, lr, a.device),
            'callbacks, fastai Adam': lambda: callback_loop(dls, prior, a.width, lr, a.batches, Adam),
            'callbacks, torch Adam (OptimWrapper)': lambda: callback_loop(dls, prior, a.width, lr, a.batches, torch_adam)}
    order = list(runs)
    for r in range(a.repeats + 1):  # the first round warms up and is not counted
        for k in (order if r % 2 else order[::-1]):  # alternate the order: no side always runs first
            t = runs[k]()
            if r: times[k].append(t)
    base = statistics.median(times['plain PyTorch'])
    print(f"device {a.device}, {torch.get_num_threads()} threads, width {a.width}, batch {a.bs}, "
          f"{a.batches} batches x {a.repeats} repeats (medians)")
    for k, v in times.items():
        m = statistics.median(v)
        print(f"  {k:40s} {m * 1000:8.2f} ms/batch   ratio {m / base:.3f}")

if __name__ == '__main__': main()
