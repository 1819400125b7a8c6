"""What an evaluation chooses, it chooses on the validation set, never on the test set: each test gives the evaluation a
validation set and a test set that prefer different choices, and checks which one it took."""
import warnings
import pytest, torch
import torch.nn.functional as F
from aae_nb.data import Split, load_digits_splits

@pytest.fixture(scope='module')
def swapped():
    "Splits whose validation and test sets are the same images, with the test labels moved on by one class: a naming made on one is all wrong on the other"
    d = load_digits_splits()
    x, y = d['valid'].x[:300], d['valid'].y[:300]
    return {'train': Split(d['train'].x[:500], d['train'].y[:500]), 'valid': Split(x, y), 'test': Split(x, (y + 1) % 10)}

def clusters_by_validation_label(valid_y, n_clusters):
    "In place of the model's q(y|x): every image sure of the cluster numbered as its validation label (a perfect clustering)"
    def scores(model, x): return 10. * F.one_hot(valid_y, n_clusters).float()
    return scores

def test_clusters_are_named_on_validation(tmp_path, monkeypatch, swapped):
    "§6: named on the validation labels, the test error of a perfect clustering is 100% here (0% had the test labels named it)"
    from aae_nb import clustering
    monkeypatch.setattr(clustering, 'cluster_scores', clusters_by_validation_label(swapped['valid'].y, 16))
    _, r, _ = clustering.CLUSTERING.run(data=swapped, out=str(tmp_path), epochs=1, width=32, bs=50, n_clusters=16)
    assert r['extra']['cluster_names'][:10] == list(range(10))  # the validation labels' names
    assert r['value'] == 1.0 and r['extra']['majority_error'] == 1.0

def test_unsupervised_map_is_named_on_validation(tmp_path, monkeypatch, swapped):
    "§7 without labels: the same naming protocol as §6"
    from aae_nb import dimreduction
    monkeypatch.setattr(dimreduction, 'cluster_scores', clusters_by_validation_label(swapped['valid'].y, 20))
    _, r, _ = dimreduction.DIM_REDUCTION.run(data=swapped, out=str(tmp_path), epochs=1, width=32, bs=50, setting='2d_unsupervised_20')
    assert r['extra']['cluster_names'][:10] == list(range(10))
    assert r['value'] == 1.0 and r['extra']['majority_error'] == 1.0

def test_parzen_sigma_is_chosen_on_validation(tmp_path):
    "§3: validation images that are the model's own samples prefer the smallest σ; noise as test images prefers a wide one; the smallest is taken"
    from fastai.torch_core import no_random
    from aae_nb.model import AdversarialAutoencoder, save_aae, decode_all
    from aae_nb.priors import Gaussian
    from aae_nb.likelihood import model_log_likelihood, parzen_evaluate
    with no_random(0): model, prior = AdversarialAutoencoder.from_mlp(code_dim=8, hidden=(16,), disc_hidden=(8,)), Gaussian(8, 5.)
    path = save_aae(model, prior, tmp_path/'m.pth')
    with no_random(3): samples = decode_all(model, prior.sample(200))  # what model_log_likelihood draws with seed=3
    with no_random(1): noise = torch.rand(200, 1, 28, 28)
    data = {'valid': Split(samples, torch.zeros(200, dtype=torch.long)), 'test': Split(noise, torch.zeros(200, dtype=torch.long))}
    sigmas = [0.05, 0.1, 0.2, 0.4, 0.8]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the choices sit at the grid's edges on purpose
        res = model_log_likelihood(path, n_samples=200, seed=3, data=data, sigmas=sigmas)
        on_test = parzen_evaluate(samples.flatten(1), noise.flatten(1), noise.flatten(1), sigmas)['sigma']
    assert res['sigma'] == 0.05 and on_test > 0.05, (res['sigma'], on_test)
