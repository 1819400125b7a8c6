"Data-parallel training (appendix 15_distributed) with two gloo processes on this CPU: what must hold exactly"
import json, os, re, subprocess, sys
from pathlib import Path
import pytest, torch

WORKER = Path(__file__).parent/'dist_worker.py'

def train(mode, out, processes):
    cmd = ['torchrun', '--standalone', '--nproc_per_node', str(processes), str(WORKER)] if processes > 1 else [sys.executable, str(WORKER)]
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')} | {'OMP_NUM_THREADS': '1'}
    r = subprocess.run([*cmd, mode, str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return [torch.load(out/f'rank{i}.pth') for i in range(processes)]

def test_processes_stay_bit_identical(tmp_path):
    "Three batches of every phase, batch norm and input noise on: every parameter and buffer the same to the bit in both"
    a, b = train('identical', tmp_path, 2)
    assert a.keys() == b.keys() and any('running_mean' in k for k in a)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"differ between the processes: {different}"
    # the phases' epoch means are over every process's shard, so both processes record the same (a shard's own would differ)
    ma, mb = (torch.load(tmp_path/f'rank{r}_metrics.pth') for r in (0, 1))
    assert {'class_loss', 'y_disc_loss', 'z_disc_acc'} <= set(ma), ma
    assert ma == mb, (ma, mb)

def test_the_check_catches_an_unaveraged_phase(tmp_path):
    "The same run with the discriminators' gradients not averaged: they drift apart (what DDP around learn.model does)"
    a, b = train('broken', tmp_path, 2)
    different = {k.split('.')[0] for k in a if not torch.equal(a[k], b[k])}
    assert 'discriminators' in different

def differing(a, b)->set:
    "The networks (encoder, decoder, discriminators.y/z) with a tensor that differs between `a` and `b` beyond rounding"
    return {k.split('.')[0] + ('.' + k.split('.')[1] if k.startswith('discriminators') else '') for k in a
            if not torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6)}

def test_two_processes_take_one_process_step(tmp_path):
    "Three batches of each phase split over two processes = the same batches whole in one process (draws pinned, no batch norm, SGD with momentum)"
    (tmp_path/'two').mkdir(); (tmp_path/'one').mkdir()
    two, _ = train('union', tmp_path/'two', 2)
    (one,) = train('union', tmp_path/'one', 1)
    for k in one:
        torch.testing.assert_close(two[k], one[k], rtol=1e-5, atol=1e-6, msg=lambda m: f"{k}: {m}")
    # negative controls: the same comparison fails when the processes sum their gradients, or leave the classification phase's unaveraged
    for bug, moved_apart in (('union_sum', {'encoder', 'decoder', 'discriminators.y', 'discriminators.z'}), ('union_unaveraged_class', {'encoder'})):
        (tmp_path/bug).mkdir()
        bad, _ = train(bug, tmp_path/bug, 2)
        assert moved_apart <= differing(bad, one), (bug, differing(bad, one))
    start = torch.load(tmp_path/'one'/'rank0_start.pth')  # and every network took a step
    moved = {k.split('.')[0] + ('.' + k.split('.')[1] if k.startswith('discriminators') else '') for k in one if not torch.equal(one[k], start[k])}
    assert {'encoder', 'decoder', 'discriminators.y', 'discriminators.z'} <= moved, moved

def torchrun(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')} | {'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    return subprocess.run(['torchrun', '--standalone', '--nproc_per_node', '2', *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)

def test_a_stop_reaching_one_process_stops_both_and_resumes_exactly(tmp_path):
    "Ctrl-C reaches processes at different batches: they stop after the same one, and the resumed run ends as an unstopped one"
    w = str(Path(__file__).parent/'dist_run_worker.py')
    stopped = torchrun(w, str(tmp_path), 'r', 'stop', cwd=tmp_path)
    assert stopped.returncode != 0 and stopped.stdout.count('stopped: ') == 2, stopped.stdout + stopped.stderr[-2000:]
    assert 'stopped in epoch 2 of 3' in stopped.stdout and 'torchrun --standalone --nproc_per_node 2 --no-python aae_semi_supervised' in stopped.stdout
    assert (tmp_path/'checkpoints'/'r.pth').exists() and not (tmp_path/'results'/'r.json').exists()
    for args in ((w, str(tmp_path), 'r', 'resume'), (w, str(tmp_path), 'whole')):
        r = torchrun(*args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
    resumed, whole = [json.loads((tmp_path/'results'/f'{n}.json').read_text()) for n in ('r', 'whole')]
    assert resumed['extra']['resumed_after_epoch'] == 1
    assert resumed['extra']['history'] == whole['extra']['history'] and resumed['value'] == whole['value']
    assert resumed['config']['world_size'] == 2 and resumed['config']['global_bs'] == 40

def test_a_stop_in_the_last_validation_reaching_one_process_stops_both(tmp_path):
    "A Ctrl-C that reaches one process after the last training batch (no batch left to share it on): every process stops alike, none evaluates, and --resume evaluates without training"
    w = str(Path(__file__).parent/'dist_run_worker.py')
    stopped = torchrun(w, str(tmp_path), 'r', 'stop_last', cwd=tmp_path)
    assert stopped.returncode != 0 and stopped.stdout.count('stopped: ') == 2, stopped.stdout + stopped.stderr[-2000:]
    assert stopped.stdout.count('stopped after its last epoch, before its evaluation') == 2, stopped.stdout
    assert (tmp_path/'checkpoints'/'r.pth').exists() and not (tmp_path/'results'/'r.json').exists()
    for args in ((w, str(tmp_path), 'r', 'resume'), (w, str(tmp_path), 'whole')):
        r = torchrun(*args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-3000:]
    resumed, whole = [json.loads((tmp_path/'results'/f'{n}.json').read_text()) for n in ('r', 'whole')]
    assert resumed['extra']['resumed_after_epoch'] == 3 and resumed['extra']['history'] == whole['extra']['history'] and resumed['value'] == whole['value']

def test_a_script_that_never_leaves_the_group_exits_cleanly(tmp_path):
    "A script that joins with join_processes and exits without leave_processes (as one calling the runner directly): gloo's threads do not outlive it"
    w = str(Path(__file__).parent/'dist_exit_worker.py')
    for _ in range(3):  # without the exit handler, one try in two or three ends in 'terminate called' (SIGABRT) in the first process
        r = torchrun(w, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]

@pytest.mark.skipif(not os.path.isdir('/proc/self/task'), reason="counts the process's threads in /proc (Linux)")
def test_leaving_the_group_ends_its_threads(tmp_path):
    "After leave_processes, gloo's threads are gone: none can still be running when Python tears itself down (CI's 'terminate called')"
    w = str(Path(__file__).parent/'dist_leave_worker.py')
    counts = {}
    for how, args in (('joined', ()), ('plain', ('plain',))):
        r = torchrun(w, *args, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        counts[how] = [tuple(map(int, m)) for m in re.findall(r'threads before joining (\d+), after leaving (\d+)', r.stdout)]  # two processes' lines may interleave
    assert len(counts['joined']) == 2 and all(after == before for before, after in counts['joined']), counts
    # the control: torch's own init_process_group, then an optimizer, keeps the group's threads after destroy_process_group
    # (torch 2.13; if this fails, torch no longer keeps the group and join_processes' early import can go)
    assert len(counts['plain']) == 2 and all(after > before for before, after in counts['plain']), counts
