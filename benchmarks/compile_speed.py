"""Does `torch.compile` speed up our phases? Issue 34 keeps it only at 1.2x or more with the same numbers.

    python benchmarks/compile_speed.py                  # about 5 minutes on a 2-core CPU
    python benchmarks/compile_speed.py --threads 1 --rounds 9

The semi-supervised AAE of §5 (batch norm, 100 labels, width 1000; its four phases: reconstruction, y and z adversaries,
classification) with the fused optimizers, one epoch of `n_train` images per round, as in `epoch_speed.py`: the same
learner with its networks (encoder, decoder, both discriminators) compiled in place (`nn.Module.compile`, inductor,
default mode) and without. Every round times both on the same batches, in a shuffled order; the table gives each
path's median ms per batch over rounds and the median over rounds of the two paths' ratio. Before timing, both paths
train one epoch from the same weights on the same batches (the compiled one with inductor's `fallback_random`, so that
its input noise and dropout draw eager's random numbers), and the table gives how far their weights and epoch losses
then are apart: compiled kernels fuse and reorder float operations, so equal to float rounding is the most to ask,
and Adam's normalised steps carry a rounding difference on a near-zero gradient into a full step, so over an epoch
the weights part farther than the losses. The compile itself (the first epochs, with the graphs recompiled for each phase's grad mode and the networks'
train and eval modes) is timed apart; inductor's on-disk caches, warm from the check, shorten it. Writes benchmarks/compile_speed_<device>.txt.
"""
import argparse, random, statistics, sys, time
from pathlib import Path
import torch
from fastai.torch_core import no_random
from aae_nb.data import load_mnist, Split, balanced_label_indices
from aae_nb.results import device_name
from aae_nb.runner import auto_precision
sys.path.insert(0, str(Path(__file__).parent))
from epoch_speed import learner, ours

def compiled(learn):
    "`learn` with its networks compiled in place: the parameters and their names stay, so the phases' optimizers see the same tensors"
    m = learn.model
    for net in (m.encoder, m.decoder, *m.discriminators.values()): net.compile()
    return learn

def one_epoch(learn):
    "Train `learn` one epoch from its current weights; the epoch's recorded losses and metrics"
    with no_random(0), learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-3)
    return dict(zip(learn.recorder.metric_names[1:-1], learn.recorder.values[-1]))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--n_train', type=int, default=3000, help='Training images per timed epoch')
    p.add_argument('--rounds', type=int, default=9, help='Rounds; each times both paths once')
    p.add_argument('--threads', type=int, default=None, help="torch threads (default torch's)")
    p.add_argument('--precision', default=None, help="'fp32' or 'bf16' (default: the runner's choice for the device)")
    p.add_argument('--device', default='cpu')
    p.add_argument('--out', default=str(Path(__file__).parent))
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    prec = a.precision or auto_precision(a.device)
    mnist = load_mnist(fetch=True)
    data = {'train': Split(mnist['train'].x[:a.n_train], mnist['train'].y[:a.n_train]), 'valid': Split(mnist['valid'].x[:100], mnist['valid'].y[:100])}
    labelled = Split(*[t[balanced_label_indices(mnist['train'].y[:a.n_train], 100)] for t in (mnist['train'].x[:a.n_train], mnist['train'].y[:a.n_train])])
    eager, check, comp = [learner(data, labelled, a.device, 'fused', prec) for _ in range(3)]
    # the same numbers? one epoch each from the same weights on the same batches. Compiled kernels draw their own random
    # numbers (input noise, dropout); inductor's fallback_random makes them eager's, for this check only
    check.model.load_state_dict(eager.model.state_dict())
    torch._inductor.config.fallback_random = True
    logs_c = one_epoch(compiled(check))
    torch._dynamo.reset(); torch._inductor.config.fallback_random = False
    logs_e = one_epoch(eager)
    sd_e, sd_c = eager.model.state_dict(), check.model.state_dict()
    weights = max((sd_e[k].float() - sd_c[k].float()).abs().max().item() / max(sd_e[k].float().abs().max().item(), 1e-12)
                  for k in sd_e if sd_e[k].is_floating_point())
    losses = max(abs(logs_e[k] - logs_c[k]) / max(abs(logs_e[k]), 1e-12) for k in logs_e)
    comp = compiled(comp)  # as a user would compile: inductor's own random numbers
    paths = {'eager (as trained today)': lambda: ours(eager), 'compiled (torch.compile, inductor)': lambda: ours(comp)}
    t0 = time.perf_counter(); ours(comp); first = time.perf_counter() - t0  # the first epoch compiles
    t0 = time.perf_counter(); ours(comp); second = time.perf_counter() - t0  # any graph the first epoch did not need
    ours(eager)
    times = {k: [] for k in paths}
    for r in range(a.rounds):
        for k in random.Random(r).sample(list(paths), len(paths)): times[k].append(paths[k]())
        print(f"round {r + 1}: " + ', '.join(f"{v[-1]:.1f}" for v in times.values()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = statistics.median(e / c for e, c in zip(*times.values()))
    lines = [f"# {' '.join(['python benchmarks/compile_speed.py', *(argv if argv is not None else sys.argv[1:])])}",
             f"# {device_name(a.device)}; torch {torch.__version__}; {prec}, fused AdamW; {a.n_train} images (bs 100) per epoch, {a.rounds} rounds, median ms per batch",
             f"{'path':40s} {'ms/batch':>9s}"]
    lines += [f"{k:40s} {v:9.1f}" for k, v in med.items()]
    lines += [f"speed-up of the compiled path: {ratio:.2f}x (median over rounds of eager/compiled in a round; issue 34 keeps it at 1.2x or more)",
              f"first two compiled epochs (compiling, inductor's caches warm from the check): {first:.0f} s and {second:.0f} s",
              f"after one epoch from the same weights, largest difference: weights {weights:.1e} (relative to each tensor's largest), epoch losses and metrics {losses:.1e} (relative)"]
    text = '\n'.join(lines) + '\n'
    print(text)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out)/f"compile_speed_{a.device.replace(':', '')}.txt").write_text(text)

if __name__ == '__main__': main()
