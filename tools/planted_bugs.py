"""Plant deliberate bugs one at a time and check that a test fails on each (mutation testing by hand).

    python tools/planted_bugs.py            # every bug: plant, run its test, restore; a table of what caught what
    python tools/planted_bugs.py 3 7        # only bugs 3 and 7

Each bug is one line of the library changed, in `aae_nb/` (what pytest imports) and in the notebook that writes it (what
nbdev_test runs); the files are restored afterwards whatever happens. A bug no test catches is reported as such, and
each caught one with the first error line of the failing test, to see that it failed for the bug's reason. Run it in a
clean checkout (`git worktree add`), with PYTHONPATH set to it so the commands the tests start import the planted code."""
import json, re, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (what the bug does, module, the line's text as it is, as the bug has it, the test that must fail)
BUGS = [
    ("adversary: the discriminator learns prior samples as fake and codes as real", 'phases',
     "loss = (_bce_logits(logits_real, 1.) + _bce_logits(logits_fake, 0.)) / 2",
     "loss = (_bce_logits(logits_real, 0.) + _bce_logits(logits_fake, 1.)) / 2", ('nbdev_test', 'nbs/02b_learner.ipynb')),
    ("phases: a step adds to the gradients left by the step before", 'phases',
     "    _clear_grads(params)\n    loss.backward()", "    loss.backward()", ('nbdev_test', 'nbs/02b_learner.ipynb')),
    ("classification phase: ascends the cross-entropy", 'semisupervised',
     "loss = F.cross_entropy(self.learn.model.encode(x)['logits'], y)",
     "loss = -F.cross_entropy(self.learn.model.encode(x)['logits'], y)", ('nbdev_test', 'nbs/07_semi_supervised.ipynb')),
    ("distributed: gradients summed over the processes, not averaged", 'distributed',
     "    flat.div_(world_size)\n", "", ('pytest', 'tests/test_distributed.py::test_two_processes_take_one_process_step')),
    ("distributed: the phases' epoch means are one process's", 'distributed',
     "        average(sums, self.world.size)\n", "", ('pytest', 'tests/test_distributed.py')),
    ("resume: the random states are not restored", 'checkpoint',
     "    set_rng_states(ck['rng'], learn.dls)", "    pass", ('pytest', 'tests/test_checkpoints.py::test_resumed_run_equals_uninterrupted')),
    ("resume: a checkpoint of other options is accepted", 'checkpoint',
     "if self.config is not None and (differ := config_difference(ck['config'], self.config)):", "if False:",
     ('pytest', 'tests/test_checkpoints.py::test_other_options_refused')),
    ("checkpoint: written in place, not through a temporary file and a rename", 'checkpoint',
     "    torch.save(obj, tmp)\n    os.replace(tmp, path)", "    torch.save(obj, path)",
     ('pytest', 'tests/test_checkpoints.py::test_a_crash_while_writing_leaves_the_previous_checkpoint')),
    ("--seeds --resume: finished seeds are trained again", 'runner',
     "if c.resume and done.exists() and not checkpoint_path(cs, cs.name).exists():", "if False:",
     ('pytest', 'tests/test_checkpoints.py::test_resume_a_series_of_seeds')),
    ("command line: every ValueError reported as the user's mistake", 'runner',
     "    except UsageError as e:  # decided before the run trained", "    except (ValueError, FileNotFoundError) as e:  # decided before the run trained",
     ('pytest', 'tests/test_layers_and_commands.py::test_a_bug_mid_run_keeps_its_traceback')),
    ("§6 protocol: clusters named on the test set", 'clustering',
     "names, majority = cluster_labels(valid_scores, data['valid'].y), majority_labels(valid_scores, data['valid'].y)",
     "names, majority = cluster_labels(cluster_scores(learn.model, data['test'].x), data['test'].y), majority_labels(valid_scores, data['valid'].y)",
     ('pytest', 'tests/test_protocols.py::test_clusters_are_named_on_validation')),
    ("§3 protocol: Parzen's σ chosen on the test set", 'likelihood',
     "valid_ll = parzen_log_likelihoods(samples, valid, sigmas, bs).mean(0)", "valid_ll = parzen_log_likelihoods(samples, test, sigmas, bs).mean(0)",
     ('pytest', 'tests/test_protocols.py::test_parzen_sigma_is_chosen_on_validation')),
    ("§5 evaluation: the test error measured on the validation set", 'semisupervised',
     "err = test_error(learn.model, *data['test'])", "err = test_error(learn.model, *data['valid'])",
     ('pytest', 'tests/test_package.py::test_aae_semi_supervised_writes_results_and_model')),
    ("data: a cached MNIST of the wrong shape is read", 'data',
     "        if x.ndim < 2 or math.prod(x.shape[1:]) != 28 * 28 or y.shape != (len(x),) or x.dtype != np.uint8:",
     "        if False:", ('pytest', 'tests/test_layers_and_commands.py::test_wrong_shape_data_cache_says_how_to_mend_it')),
]

def notebook_of(module:str, line:str)->Path:
    "The notebook whose cell wrote `line` into aae_nb/<module>.py (nbdev's `# %% ../nbs/...` markers)"
    text, at = (ROOT/'aae_nb'/f'{module}.py').read_text(), None
    pos = text.index(line)
    for m in re.finditer(r'^# %% \.\./(nbs/\S+\.ipynb)', text, re.M):
        if m.start() < pos: at = m[1]
    return ROOT/at

def plant(path:Path, old:str, new:str, in_json:bool):
    text = path.read_text()
    o, n = (json.dumps(old)[1:-1], json.dumps(new)[1:-1]) if in_json else (old, new)
    if in_json and '\n' in old:  # a cell keeps each line as its own string: "...\n",\n    "..."
        o, n = ['",\n    "'.join(json.dumps(l + '\n')[1:-1] for l in s.split('\n')[:-1]) + ('",\n    "' + json.dumps(s.split('\n')[-1])[1:-1] if s.split('\n')[-1] else '') for s in (old, new)]
    if text.count(o) != 1: raise SystemExit(f"{path.name}: the bug's line is there {text.count(o)} times, not once: {old!r}")
    path.write_text(text.replace(o, n))

def main(which):
    rows = []
    for i, (what, module, old, new, (kind, target)) in enumerate(BUGS, 1):
        if which and i not in which: continue
        py, nb = ROOT/'aae_nb'/f'{module}.py', notebook_of(module, old)
        saved = {p: p.read_text() for p in (py, nb)}
        try:
            plant(py, old, new, False)
            plant(nb, old, new, True)
            cmd = ['nbdev_test', '--path', target, '--n_workers', '1'] if kind == 'nbdev_test' else [sys.executable, '-m', 'pytest', '-q', '-x', target]
            t = time.time()
            res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            out = res.stdout + res.stderr
            failed = res.returncode != 0 or 'Failed' in out
            pytest_says = [l.strip() for l in out.splitlines() if re.match(r'E\s+\S', l)]  # pytest's first explanation line
            lines = [l.strip() for l in out.splitlines() if re.match(r'\s*\w*(Error|Exception)\b', l)]  # nbdev_test's traceback
            why = pytest_says[0] if pytest_says else next((l for l in reversed(lines) if ':' in l and ' in /' not in l), lines[-1] if lines else '')
            rows.append((i, what, f'{module}.py', target, f'caught: {why[:110]}' if failed else 'NOT CAUGHT', round(time.time() - t)))
        finally:
            for p, s in saved.items(): p.write_text(s)
        print(f"| {' | '.join(map(str, rows[-1]))} |", flush=True)
    return rows

if __name__ == '__main__':
    print('| # | bug planted | in | test | result | seconds |\n|---|---|---|---|---|---|')
    rows = main({int(a) for a in sys.argv[1:]})
    sys.exit(1 if any(not r[4].startswith('caught') for r in rows) else 0)
