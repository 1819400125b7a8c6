"Checkpointed runs: a semi-supervised run stopped after its first epoch and resumed ends bit for bit as one never stopped, in Python and from the command line."
import json, os, pickle, signal, subprocess, sys
import pytest
import torch
from fastai.callback.core import Callback
from aae_nb.runner import RunInterrupted, UsageError, run
from aae_nb.commands import full_report
from aae_nb.semisupervised import SEMI_SUPERVISED

SMALL = dict(dataset='digits', epochs=3, width=64, bs=50, n_labels=50, batch_norm=True)  # every phase, batch norm, input noise

class StopIn(Callback):
    "Stop the fit during epoch `epoch` as Ctrl-C does (the checkpoint callback's flag)"
    def __init__(self, epoch): self.at = epoch
    def after_batch(self):
        if self.epoch == self.at and self.training: self.learn.checkpoint.stopped_by = 'Ctrl-C'

def test_resumed_run_equals_uninterrupted(tmp_path):
    whole, r_whole, _ = SEMI_SUPERVISED.run(out=str(tmp_path/'whole'), **SMALL)
    with pytest.raises(RunInterrupted, match=r"stopped in epoch 2 of 3; .* keeps 1 epoch\. To go on: aae_semi_supervised .*--resume") as stop:
        run(SEMI_SUPERVISED, SEMI_SUPERVISED.Config(out=str(tmp_path/'cut'), **SMALL), cbs=[StopIn(1)])
    e = stop.value  # where it stopped and the command that goes on, apart, for a caller that composes its own line
    assert str(e) == f"{e.stopped}. To go on: {e.resume}" and e.resume.startswith('aae_semi_supervised ') and e.resume.endswith(f"--out {tmp_path/'cut'} --resume")
    again = pickle.loads(pickle.dumps(e))  # as it would cross to another process
    assert (str(again), again.stopped, again.resume) == (str(e), e.stopped, e.resume)
    assert not (tmp_path/'cut'/'results').exists()  # a stopped run writes no results
    assert (tmp_path/'cut'/'checkpoints'/f"{r_whole['name']}.pth").exists()
    with pytest.raises(UsageError, match='holds an unfinished run of that name: add --resume'):
        SEMI_SUPERVISED.run(out=str(tmp_path/'cut'), **SMALL)  # starting over would lose the epoch done
    resumed, r_resumed, _ = SEMI_SUPERVISED.run(out=str(tmp_path/'cut'), resume=True, **SMALL)
    assert r_resumed['value'] == r_whole['value']
    assert r_resumed['extra']['history'] == r_whole['extra']['history']
    assert r_resumed['extra']['final'] == r_whole['extra']['final']  # unrounded metrics of the last epoch
    assert r_resumed['extra']['resumed_after_epoch'] == 1 and r_resumed['epochs'] == 3
    for (k, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()): assert torch.equal(a, b), k
    assert not (tmp_path/'cut'/'checkpoints'/f"{r_whole['name']}.pth").exists()  # removed once the results are written
    with pytest.raises(UsageError, match='is complete .* leave out --resume'):
        SEMI_SUPERVISED.run(out=str(tmp_path/'cut'), resume=True, **SMALL)

def test_other_options_refused(tmp_path):
    with pytest.raises(RunInterrupted): run(SEMI_SUPERVISED, SEMI_SUPERVISED.Config(out=str(tmp_path), **SMALL), cbs=[StopIn(1)])
    with pytest.raises(ValueError, match=r"other options \(lr: None there, 0.002 now\)"):
        SEMI_SUPERVISED.run(out=str(tmp_path), resume=True, lr=0.002, **SMALL)

def test_an_option_added_since_resumes_at_its_default(tmp_path):
    "A checkpoint written before an option existed (here --label_seed) resumes when the option is left at its default; given, it is refused"
    with pytest.raises(RunInterrupted): run(SEMI_SUPERVISED, SEMI_SUPERVISED.Config(out=str(tmp_path), **SMALL), cbs=[StopIn(1)])
    (path,) = (tmp_path/'checkpoints').rglob('*.pth')
    ck = torch.load(path, weights_only=False); assert ck['config'].pop('label_seed') is None; torch.save(ck, path)
    with pytest.raises(ValueError, match=r"other options \(label_seed: None there, 3 now\)"):
        SEMI_SUPERVISED.run(out=str(tmp_path), resume=True, label_seed=3, **SMALL)
    _, r, _ = SEMI_SUPERVISED.run(out=str(tmp_path), resume=True, **SMALL)
    assert r['extra']['resumed_after_epoch'] == 1

def test_best_epoch_scores_the_epoch_chosen_on_validation(tmp_path):
    "--best_epoch: training is the same, the weights scored are those of the epoch with the lowest validation error, and a resumed run chooses as one never stopped"
    opts = SMALL | dict(epochs=4)
    _, plain, _ = SEMI_SUPERVISED.run(out=str(tmp_path/'plain'), **opts)
    whole, r_whole, _ = SEMI_SUPERVISED.run(out=str(tmp_path/'whole'), best_epoch=True, **opts)
    assert r_whole['extra']['history'] == plain['extra']['history']  # choosing draws nothing and changes no step
    curve, chosen = r_whole['extra']['history']['class_error'], r_whole['extra']['chosen_epoch']
    assert curve[chosen - 1] == min(curve) and chosen == curve.index(min(curve)) + 1 and r_whole['extra']['chosen_on'] == 'class_error'
    assert round(r_whole['extra']['final_valid_error'], 4) == min(curve) == round(r_whole['extra']['final']['class_error'], 4)
    assert r_whole['config']['best_epoch'] and '--best_epoch' in r_whole['command'] and 'best_epoch' not in plain['config']
    if chosen == 4: assert r_whole['value'] == plain['value']  # the last epoch chosen: the same weights scored
    with pytest.raises(RunInterrupted):
        run(SEMI_SUPERVISED, SEMI_SUPERVISED.Config(out=str(tmp_path/'cut'), best_epoch=True, **opts), cbs=[StopIn(3)])
    resumed, r_resumed, _ = SEMI_SUPERVISED.run(out=str(tmp_path/'cut'), resume=True, best_epoch=True, **opts)
    assert r_resumed['extra']['resumed_after_epoch'] == 3
    assert (r_resumed['value'], r_resumed['extra']['chosen_epoch']) == (r_whole['value'], chosen)
    for (k, a), b in zip(whole.model.state_dict().items(), resumed.model.state_dict().values()): assert torch.equal(a, b), k
    with pytest.raises(RunInterrupted): run(SEMI_SUPERVISED, SEMI_SUPERVISED.Config(out=str(tmp_path/'mixed'), **opts), cbs=[StopIn(1)])
    with pytest.raises(ValueError, match=r"other options \(best_epoch: None there, True now\)"):  # a run chooses one way from its first epoch
        SEMI_SUPERVISED.run(out=str(tmp_path/'mixed'), resume=True, best_epoch=True, **opts)

def _cli(options, *args, out):
    return [sys.executable, '-c', 'from aae_nb.semisupervised import aae_semi_supervised; aae_semi_supervised()', *options, '--out', str(out), *args]

def test_ctrl_c_then_resume_from_the_command_line(tmp_path, tiny_semi_options, stop_after_checkpoint):
    env = os.environ | {'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1'}
    subprocess.run(_cli(tiny_semi_options, '--name', 'run', out=tmp_path/'whole'), env=env, check=True, capture_output=True)
    whole = json.loads((tmp_path/'whole'/'results'/'run.json').read_text())
    p = subprocess.Popen(_cli(tiny_semi_options, '--name', 'run', out=tmp_path/'cut'), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status, err = stop_after_checkpoint(p, tmp_path/'cut'/'checkpoints'/'run.pth')
    assert status == 130, err[-2000:]
    assert 'Ctrl-C: run run stopped in epoch' in err and f"--out {tmp_path/'cut'} --resume" in err, err[-2000:]
    assert not (tmp_path/'cut'/'results').exists()
    subprocess.run(_cli(tiny_semi_options, '--name', 'run', '--resume', out=tmp_path/'cut'), env=env, check=True, capture_output=True)
    resumed = json.loads((tmp_path/'cut'/'results'/'run.json').read_text())
    assert resumed['value'] == whole['value'] and resumed['extra']['history'] == whole['extra']['history']
    assert resumed['extra']['resumed_after_epoch'] >= 1
    assert resumed['command'] == whole['command']  # --resume and --out are not part of what the run computes

class NaNIn(Callback):
    "Make the training loss NaN in epoch `epoch`, as a diverging run would"
    def __init__(self, epoch): self.at = epoch
    def after_loss(self):
        if self.epoch == self.at and self.training: self.learn.loss = self.learn.loss * float('nan')

def test_a_run_stopped_by_nan_says_so(tmp_path):
    from aae_nb.basic import BASIC
    learn, r, _ = BASIC.run(out=str(tmp_path), dataset='digits', epochs=3, width=32, bs=50, cbs=[NaNIn(1)])
    assert r['epochs'] == 1 and r['config']['epochs_asked'] == 3
    assert r['extra']['stopped_early'] == 'after 1 of 3 epochs: the training loss became NaN or infinite'
    assert 'warning: the fit stopped early, after 1 of 3 epochs' in full_report(BASIC, r)
    from aae_nb.results import results_table
    assert '| 1 of 3 |' in results_table(tmp_path/'results')

BASIC_SMALL = dict(dataset='digits', epochs=3, width=32, bs=50)

def test_a_crash_while_writing_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    "Killed between writing the new checkpoint and putting it in place: the last one is still whole, and resuming from it ends as a run never stopped"
    from aae_nb.basic import BASIC
    from aae_nb import checkpoint
    _, whole, _ = BASIC.run(out=str(tmp_path/'whole'), **BASIC_SMALL)
    calls, real_replace = [], os.replace
    def replace_then_crash(src, dst):
        calls.append(dst)
        if len(calls) == 2: raise OSError('killed between the write and the replace')
        real_replace(src, dst)
    monkeypatch.setattr(checkpoint.os, 'replace', replace_then_crash)
    with pytest.raises(OSError, match='killed between'): BASIC.run(out=str(tmp_path/'cut'), **BASIC_SMALL)
    monkeypatch.setattr(checkpoint.os, 'replace', real_replace)
    ck = tmp_path/'cut'/'checkpoints'/f"{whole['name']}.pth"
    assert checkpoint.read_checkpoint(ck)['epoch'] == 1  # the one written after the first epoch, whole
    assert ck.with_name(ck.name + '.tmp').exists()  # the half-done write is beside it, not in its place
    _, resumed, _ = BASIC.run(out=str(tmp_path/'cut'), resume=True, **BASIC_SMALL)
    assert resumed['value'] == whole['value'] and resumed['extra']['history'] == whole['extra']['history']
    assert resumed['extra']['resumed_after_epoch'] == 1

def test_resume_a_series_of_seeds(tmp_path):
    "`--seeds 0 1 --resume` after the second seed stopped: seed 0 is read, not trained again; seed 1 goes on; the aggregate is that of a series never stopped"
    from aae_nb.basic import BASIC
    whole, agg_whole = BASIC.run_seeds([0, 1], out=str(tmp_path/'whole'), name='series', **BASIC_SMALL)
    BASIC.run(out=str(tmp_path/'cut'), name='series_seed0', seed=0, **BASIC_SMALL)
    with pytest.raises(RunInterrupted): run(BASIC, BASIC.Config(out=str(tmp_path/'cut'), name='series_seed1', seed=1, **BASIC_SMALL), cbs=[StopIn(1)])
    first = (tmp_path/'cut'/'results'/'series_seed0.json').stat().st_mtime_ns
    cut, agg_cut = BASIC.run_seeds([0, 1], out=str(tmp_path/'cut'), name='series', resume=True, **BASIC_SMALL)
    assert (tmp_path/'cut'/'results'/'series_seed0.json').stat().st_mtime_ns == first  # read, not run again
    assert cut[1]['extra']['resumed_after_epoch'] == 1
    assert agg_cut['values'] == agg_whole['values'] and agg_cut['value'] == agg_whole['value']
    assert agg_cut['command'] == agg_whole['command']

def test_sigterm_stops_after_the_batch_and_keeps_the_checkpoint(tmp_path, tiny_semi_options, stop_after_checkpoint):
    env = os.environ | {'MPLBACKEND': 'Agg', 'OMP_NUM_THREADS': '1'}
    p = subprocess.Popen(_cli(tiny_semi_options, '--name', 'run', out=tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ck = tmp_path/'checkpoints'/'run.pth'
    status, err = stop_after_checkpoint(p, ck, signal.SIGTERM)
    assert status == 130, err[-2000:]
    assert 'SIGTERM: run run stopped in epoch' in err and '--resume' in err and 'Traceback' not in err, err[-2000:]
    from aae_nb.checkpoint import read_checkpoint
    assert read_checkpoint(ck)['epoch'] >= 1 and not (tmp_path/'results').exists()

class StopInLastValidation(Callback):
    "Ask for a stop during the last epoch's validation, as a Ctrl-C there would"
    def after_batch(self):
        if self.epoch == self.n_epoch - 1 and not self.training: self.learn.checkpoint.stopped_by = 'Ctrl-C'

def test_a_stop_in_the_last_validation_keeps_every_epoch(tmp_path):
    "The fit was complete: the checkpoint keeps all its epochs (the last one was lost), the message says so, and --resume only evaluates"
    from aae_nb.basic import BASIC
    _, whole, _ = BASIC.run(out=str(tmp_path/'whole'), **BASIC_SMALL)
    with pytest.raises(RunInterrupted, match=r"stopped after its last epoch, before its evaluation; .* keeps all 3 epochs"):
        run(BASIC, BASIC.Config(out=str(tmp_path/'cut'), **BASIC_SMALL), cbs=[StopInLastValidation()])
    from aae_nb.checkpoint import read_checkpoint
    assert read_checkpoint(tmp_path/'cut'/'checkpoints'/f"{whole['name']}.pth")['epoch'] == 3
    _, resumed, _ = BASIC.run(out=str(tmp_path/'cut'), resume=True, **BASIC_SMALL)
    assert resumed['extra']['resumed_after_epoch'] == 3 and resumed['value'] == whole['value']

def test_stopped_or_diverged_in_the_first_epoch(tmp_path):
    "Nothing was complete: one line each, no IndexError from an empty history, no promise of a checkpoint that does not exist"
    from aae_nb.basic import BASIC
    with pytest.raises(RunInterrupted, match="stopped in its first epoch, before any was complete: nothing was kept") as stop:
        run(BASIC, BASIC.Config(out=str(tmp_path/'a'), **BASIC_SMALL), cbs=[StopIn(0)])
    assert not stop.value.resume.endswith('--resume')  # the same command again
    with pytest.raises(UsageError, match="NaN or infinite in its first epoch: lower --lr, so there is nothing to evaluate"):
        run(BASIC, BASIC.Config(out=str(tmp_path/'b'), **BASIC_SMALL), cbs=[NaNIn(0)])

def test_a_resumed_run_whose_evaluation_validates(tmp_path):
    "The supervised experiment scores with learn.validate, which fires every callback's before_fit: the checkpoint's must not resume again there"
    from aae_nb.supervised import SUPERVISED
    small = dict(dataset='digits', epochs=2, width=32, bs=50, n_probe=500)
    _, whole, _ = SUPERVISED.run(out=str(tmp_path/'whole'), **small)
    with pytest.raises(RunInterrupted): run(SUPERVISED, SUPERVISED.Config(out=str(tmp_path/'cut'), **small), cbs=[StopIn(1)])
    learn, resumed, _ = SUPERVISED.run(out=str(tmp_path/'cut'), resume=True, **small)
    assert resumed['value'] == whole['value'] and resumed['extra']['resumed_after_epoch'] == 1
    assert not any(type(cb).__name__ in ('Checkpoint', 'BestEpoch') for cb in learn.cbs)  # the fit's callbacks leave with the fit

def test_an_interrupted_series_resumes_as_a_series(tmp_path, monkeypatch):
    "The command a stopped seed prints goes on with the whole series (--seeds), not that seed alone"
    from aae_nb.basic import BASIC
    from aae_nb import runner
    real = runner._learner_for_run
    def stop_seed1(exp, c, data, device, cbs):
        return real(exp, c, data, device, cbs + ([StopIn(1)] if c.seed == 1 else []))
    monkeypatch.setattr(runner, '_learner_for_run', stop_seed1)
    with pytest.raises(RunInterrupted) as stop: BASIC.run_seeds([0, 1], out=str(tmp_path), name='series', **BASIC_SMALL)
    assert '--seeds 0 1 --name series' in stop.value.resume and stop.value.resume.endswith('--resume'), stop.value.resume
    assert 'run series_seed1 stopped in epoch 2 of 3' in stop.value.stopped

def test_bad_numbers_refused(tmp_path):
    for bad, says in (({'lr': float('inf')}, '--lr inf'), ({'input_noise': float('nan')}, '--input_noise nan'), ({'input_noise': float('inf')}, '--input_noise inf')):
        with pytest.raises(UsageError, match=says): SEMI_SUPERVISED.run(out=str(tmp_path), **SMALL | bad)  # not a NaN traceback epochs later

def test_a_complete_run_with_its_checkpoint_kept(tmp_path):
    from aae_nb.basic import BASIC
    BASIC.run(out=str(tmp_path), keep_checkpoint=True, name='kept', **BASIC_SMALL)
    with pytest.raises(UsageError, match='is complete .* and kept its checkpoint .*: add --resume to score it again'):
        BASIC.run(out=str(tmp_path), name='kept', **BASIC_SMALL)

def test_a_complete_run_rerun_then_stopped_is_unfinished(tmp_path):
    "Results beside a checkpoint that is not complete (a rerun stopped): the message says unfinished, not complete"
    from aae_nb.basic import BASIC
    BASIC.run(out=str(tmp_path), name='again', **BASIC_SMALL)
    with pytest.raises(RunInterrupted) as stop: run(BASIC, BASIC.Config(out=str(tmp_path), name='again', keep_checkpoint=True, **BASIC_SMALL), cbs=[StopIn(1)])
    assert stop.value.resume.endswith('--resume --keep_checkpoint')  # the resume command keeps what was asked
    with pytest.raises(UsageError, match='holds an unfinished run of that name: add --resume'):
        BASIC.run(out=str(tmp_path), name='again', **BASIC_SMALL)
