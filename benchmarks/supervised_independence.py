"""How much of the digit stays in z in §4's supervised AAE, for several ways of pushing z to be independent of the label.

Notebook 06 found that with the paper's plain discriminator on z, and with our label-aware one, z keeps most of the
class (a logistic regression reads the digit from z with 0.68-0.82 accuracy), and that a stronger generator takes
the style out with the class. This script runs short experiments (the first `--n_train` MNIST training images,
`--epochs` of one-cycle Adam at 1e-3, 2x1000 MLPs, 15-D Gaussian z) and prints, for each variant, one JSON line:
the test accuracy of a logistic regression and of a 10-NN classifier reading the digit from z (chance 0.11), the
test half squared error, and the minutes taken. Variants (a JSON list of dicts):

- `{"disc": "label_aware"|"plain", "gen": 1, "batch_norm": false}`: the adversarial recipes of notebook 06;
- `{"z_noise": 0.5}`: Gaussian noise of that std on z at the decoder's input while training (limits what z can carry);
- `{"cond_mmd": true, "gen": 3}`: no adversary; instead an encoder step on the class-conditional MMD
  sum_k n_k/n MMD^2(z | y=k, N(0, I)) with the closed-form RBF prior side of notebook 11, which is zero exactly
  when z's distribution is the prior within every class, i.e. z independent of y. `"plain_too": true` keeps the
  paper's plain adversary as well.

    OMP_NUM_THREADS=1 python benchmarks/supervised_independence.py '[{"cond_mmd": true, "gen": 3}]' [--n_train 10000] [--epochs 10]

Measured numbers are in benchmarks/supervised_independence_cpu.txt.
"""
import argparse, json, time
import torch
from fastai.torch_core import no_random
from aae_nb.data import load_mnist, aae_dataloaders
from aae_nb.priors import Gaussian
from aae_nb.learner import AAELearner
from aae_nb.phases import _phase_step
from aae_nb.mmd import MMDRegularizer
from aae_nb.evaluation import probe_accuracy
from aae_nb.supervised import LabelsToDecoder, supervised_learner

class ClassConditionalMMD(MMDRegularizer):
    "An encoder step on sum_k n_k/n MMD^2(codes of class k, prior): zero when z is independent of the label"
    def regularize(self, x):
        z, y = self.learn.model.encode(x), self.learn.yb[1]
        loss = sum((y == k).sum() / len(y) * self.mmd(z[y == k]) for k in y.unique() if (y == k).sum() >= 2)
        _phase_step(self._params, self.weight * loss, self.gen_opt)
        self.end_phase({'mmd': loss})
        return loss.detach()

def learner(dls, prior, v):
    if v.get('cond_mmd') and not v.get('plain_too'):
        return AAELearner.from_mlp(dls, prior, decoder_classes=10, disc_hidden=None, batch_norm=v.get('batch_norm', False),
                                   regularizers=[ClassConditionalMMD(prior, gen_lr_mult=v.get('gen', 1.))], cbs=[LabelsToDecoder(10)])
    disc = 'plain' if v.get('cond_mmd') else v.get('disc', 'label_aware')
    learn = supervised_learner(dls, prior, disc=disc, gen_lr_mult=1. if v.get('cond_mmd') else v.get('gen', 1.),
                               batch_norm=v.get('batch_norm', False))
    if v.get('cond_mmd'): learn.add_cb(ClassConditionalMMD(prior, gen_lr_mult=v.get('gen', 1.)))
    if v.get('z_noise'):
        def noisy(m, inp):  # the decoder's input is (one-hot label, z): noise on z only, in training only
            if not m.training: return None
            h = inp[0].clone(); h[:, 10:] += v['z_noise'] * torch.randn_like(h[:, 10:]); return (h,)
        learn.model.decoder.register_forward_pre_hook(noisy)
    return learn

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('variants'); p.add_argument('--n_train', type=int, default=10_000); p.add_argument('--epochs', type=int, default=10)
    a = p.parse_args()
    data = load_mnist(fetch=True)
    for v in json.loads(a.variants):
        start = time.time()
        with no_random(0):
            dls = aae_dataloaders(data['train'], data['valid'], bs=100, n_train=a.n_train)
            learn = learner(dls, Gaussian(15), v)
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, 1e-3)
            sse = learn.test_loss(*data['test'])
            tr, te = dls.train.dataset, data['test']
            n = min(10_000, len(tr))
            probe = probe_accuracy(learn.encode(tr.x[:n]), tr.y[:n], learn.encode(te.x), te.y)
        print(json.dumps(dict(variant=v, logistic_on_z=round(probe['logistic'], 3), knn_on_z=round(probe['knn'], 3),
                              test_half_sse=round(sse, 2), minutes=round((time.time() - start) / 60, 1))), flush=True)
