"""Every experiment trains one short epoch and is evaluated with its model and batches on a device other than the CPU,
on a CPU-only machine: `fake_accelerator` (tests/fake_accelerator.py) raises wherever CUDA would find two devices in
one operation. This is how CI, which has no GPU, catches the device mixing that crashed clustering on CUDA."""
import sys
from pathlib import Path
import pytest
import torch
sys.path.insert(0, str(Path(__file__).parent))
from fake_accelerator import fake_accelerator, DeviceMismatch
import aae_nb.mmd, aae_nb.vae  # noqa: F401 -- the regularisers register themselves
from aae_nb.basic import BASIC
from aae_nb.conditioned import CONDITIONED
from aae_nb.supervised import SUPERVISED
from aae_nb.semisupervised import SEMI_SUPERVISED
from aae_nb.clustering import CLUSTERING
from aae_nb.evaluation import log_odds
from aae_nb.dimreduction import DIM_REDUCTION
from aae_nb.likelihood import LIKELIHOOD

TINY = dict(dataset='digits', epochs=1, width=32, bs=50, n_train=200, device='cuda', save_model=True)
RUNS = {  # every phase: adversary, MMD, KL, label-conditioned, supervised decoder, classification, clusters, heads
    'basic': (BASIC, {}), 'basic_mmd': (BASIC, dict(regularizer='mmd')), 'basic_vae': (BASIC, dict(regularizer='vae')),
    'basic_conv': (BASIC, dict(architecture='conv')),
    'conditioned': (CONDITIONED, dict(n_labels=100)),
    'supervised_cond_mmd': (SUPERVISED, dict(n_probe=100)), 'supervised_label_aware': (SUPERVISED, dict(n_probe=100, disc='label_aware')),
    'semi_supervised': (SEMI_SUPERVISED, dict(n_labels=50, batch_norm=True)),
    'semi_supervised_mmd_paper': (SEMI_SUPERVISED, dict(n_labels=50, regularizer='mmd', recipe='paper')),
    'clustering': (CLUSTERING, dict(n_clusters=4)),
    'dim_reduction': (DIM_REDUCTION, dict(setting='2d_100')),
    'dim_reduction_unsupervised': (DIM_REDUCTION, dict(setting='2d_unsupervised_20')),
}

@pytest.mark.parametrize('key', RUNS)
def test_experiment_on_a_device(key, tmp_path):
    exp, opts = RUNS[key]
    with fake_accelerator():
        learn, result, _ = exp.run(out=str(tmp_path), **(TINY | opts))
        assert next(learn.model.parameters()).device.type == 'cuda'  # it really ran "on the device"
    assert result['device'] == 'FakeAccelerator (CUDA)'
    assert result['epochs'] == 1

def test_likelihood_of_a_model_trained_on_a_device(tmp_path):
    from aae_nb.data import load_digits_splits
    with fake_accelerator():
        BASIC.run(out=str(tmp_path), name='m', **TINY)
        _, result, _ = LIKELIHOOD.run(data=load_digits_splits(), dataset='digits', out=str(tmp_path), model=str(tmp_path/'models'/'m.pth'), n_samples=100)
    assert result['epochs'] == 1

def test_the_check_catches_mixed_devices():
    with fake_accelerator():
        logits = torch.randn(5, 3, device='cuda')
        with pytest.raises(DeviceMismatch, match='meets a CPU tensor'):  # log_odds before the fix: its mask was made on the CPU
            logits[:, None, :].expand(-1, 3, -1).masked_fill(torch.eye(3, dtype=torch.bool), -torch.inf)
        assert log_odds(logits).device.type == 'cuda'
        with pytest.raises(DeviceMismatch, match='to numpy'): logits.numpy()
        torch.nn.Linear(3, 2).to('cuda')(logits)  # a model moved to the device takes its batches
        with pytest.raises(DeviceMismatch): torch.nn.Linear(3, 2)(logits)  # a model left on the CPU does not

def test_explorers_of_models_on_a_device(tmp_path):
    from aae_nb.data import load_digits_splits
    from aae_nb.explore import DecoderExplorer, style_label_explorer, ClusterBrowser, InterpolationExplorer
    x = load_digits_splits()['test'].x[:60]
    with fake_accelerator():
        basic = BASIC.run(out=str(tmp_path), **TINY)[0]
        supervised = SUPERVISED.run(out=str(tmp_path), n_probe=100, **TINY)[0]
        clusters = CLUSTERING.run(out=str(tmp_path), n_clusters=4, **TINY)[0]
        for explorer in (DecoderExplorer(basic, codes=basic.encode(x)), style_label_explorer(supervised), ClusterBrowser(clusters, x),
                         InterpolationExplorer(basic, x)):
            explorer.update()
