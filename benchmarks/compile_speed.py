"""Does `torch.compile` speed up our phases? Issue 34 keeps it only at 1.2x or more with the same numbers.

    python benchmarks/compile_speed.py                  # about 8 minutes on a 2-core CPU
    python benchmarks/compile_speed.py --threads 1 --rounds 9

The semi-supervised AAE of §5 (batch norm, 100 labels, width 1000; its four phases: reconstruction, y and z adversaries,
classification) with the fused optimizers, one epoch of `n_train` images per round, as in `epoch_speed.py`: the same
learner with its networks (encoder, decoder, both discriminators) compiled in place (`nn.Module.compile`, inductor,
default mode) and without. Every round times both on the same batches, in a shuffled order; the table gives each
path's median ms per batch over rounds and the median over rounds of the two paths' ratio. Dynamo is told to fail
rather than fall back to eager when a network needs more graphs than its limit, and the file gives how many graphs
were compiled and how many graph breaks there were: the compiled path ran compiled.

The numbers: one epoch of each from the same weights on the same batches, and the largest difference between their
weights and between their epoch losses and metrics afterwards. Every random number (input noise, prior samples,
labelled batches) is drawn outside the compiled networks, so both paths draw the same ones. A control says what float
rounding alone does over an epoch: the eager path again, from the same weights each moved by one float step (one ulp).
Writes benchmarks/compile_speed_<device>.txt.
"""
import argparse, random, statistics, sys, time
from pathlib import Path
import torch
import torch._dynamo
from fastai.torch_core import no_random
from aae_nb.results import device_name
from aae_nb.runner import auto_precision
sys.path.insert(0, str(Path(__file__).parent))
from epoch_speed import bench_data, learner, ours

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
    data, labelled = bench_data(a.n_train)
    eager, check, control, comp = [learner(data, labelled, a.device, 'fused', prec) for _ in range(4)]
    torch._dynamo.config.fail_on_recompile_limit_hit = True  # a network past its graph limit would otherwise quietly run eager
    # the same numbers? one epoch each from the same weights on the same batches (each learner's data order comes from
    # its own generator, seeded alike when built: every learner runs two epochs before the rounds, so the rounds match too)
    start = eager.model.state_dict()
    check.model.load_state_dict(start)
    control.model.load_state_dict({k: v.nextafter(v.new_tensor(float('inf'))) if v.is_floating_point() else v for k, v in start.items()})
    t0 = time.perf_counter(); logs_c = one_epoch(compiled(check)); first = time.perf_counter() - t0  # the first compiled epoch compiles
    logs_e, logs_u = one_epoch(eager), one_epoch(control)
    def apart(learn, logs):
        "Largest difference from eager's weights (relative to each tensor's largest; and that tensor's name) and from its epoch logs (relative)"
        sd_e, sd = eager.model.state_dict(), learn.model.state_dict()
        w, name = max(((sd_e[k].float() - sd[k].float()).abs().max().item() / max(sd_e[k].float().abs().max().item(), 1e-12), k)
                      for k in sd_e if sd_e[k].is_floating_point())
        return w, name, max(abs(logs_e[k] - logs[k]) / max(abs(logs_e[k]), 1e-12) for k in logs_e)
    diff_c, diff_u = apart(check, logs_c), apart(control, logs_u)
    torch._dynamo.reset(); torch._dynamo.utils.counters.clear()  # the timed learner compiles afresh (not capped by the check's graphs), and is counted alone
    comp = compiled(comp)
    t0 = time.perf_counter(); ours(comp); again = time.perf_counter() - t0  # its first epoch: any graph not yet compiled
    ours(comp); ours(eager)  # warm-up: now every learner has run two epochs
    paths = {'eager (as trained today)': lambda: ours(eager), 'compiled (torch.compile, inductor)': lambda: ours(comp)}
    times = {k: [] for k in paths}
    for r in range(a.rounds):
        for k in random.Random(r).sample(list(paths), len(paths)): times[k].append(paths[k]())
        print(f"round {r + 1}: " + ', '.join(f"{v[-1]:.1f}" for v in times.values()), flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    eager_k, comp_k = paths
    ratio = statistics.median(e / c for e, c in zip(times[eager_k], times[comp_k]))
    stats = torch._dynamo.utils.counters
    lines = [f"# {' '.join(['python benchmarks/compile_speed.py', *(argv if argv is not None else sys.argv[1:])])}",
             f"# {device_name(a.device)}; torch {torch.__version__}; {prec}, fused AdamW; {a.n_train} images (bs 100) per epoch, {a.rounds} rounds, median ms per batch",
             f"{'path':40s} {'ms/batch':>9s}"]
    lines += [f"{k:40s} {v:9.1f}" for k, v in med.items()]
    lines += [f"speed-up of the compiled path: {ratio:.2f}x (median over rounds of eager/compiled in a round; issue 34 keeps it at 1.2x or more)",
              f"first compiled epoch (it compiles; validation included): {first:.0f} s; the timed learner's first: {again:.0f} s",
              f"graphs compiled for the timed learner: {stats['stats']['unique_graphs']}; graph breaks: {sum(stats['graph_break'].values())}",
              "after one epoch from the same weights, largest difference from eager (weights: relative to the tensor's largest; epoch losses and metrics: relative):",
              f"  compiled: weights {diff_c[0]:.1e} ({diff_c[1]}), losses and metrics {diff_c[2]:.1e}",
              f"  eager from weights moved one ulp (float rounding alone): weights {diff_u[0]:.1e} ({diff_u[1]}), losses and metrics {diff_u[2]:.1e}"]
    text = '\n'.join(lines) + '\n'
    print(text)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out)/f"compile_speed_{a.device.replace(':', '')}.txt").write_text(text)

if __name__ == '__main__': main()
