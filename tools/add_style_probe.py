"""Add the style probe (`aae_nb.evaluation.style_probe`, notebook 07) to the results file of a semi-supervised run that
finished before runs recorded it, from the model the run saved (`--save_model`); every recorded value stays as it was.

    python tools/add_style_probe.py results/semisupervised_100_bn_bf16_64ep.json models/semisupervised_100_bn_bf16_64ep.pth
"""
import json, sys
from pathlib import Path
from aae_nb.data import load_mnist, Split
from aae_nb.model import load_aae
from aae_nb.evaluation import style_probe
from aae_nb.results import versions

def main(results:str, model:str):
    path = Path(results)
    r = json.loads(path.read_text())
    if r['experiment'] != 'semi_supervised' or r['dataset'] != 'mnist':
        sys.exit(f"{path} is a {r['experiment']} run on {r['dataset']}: the style probe is for semi-supervised MNIST runs")
    if 'style_probe' in r.get('extra', {}): sys.exit(f"{path} already holds a style probe: nothing to add")
    data = load_mnist(fetch=True)
    n = r['config']['n_train']
    train = Split(data['train'].x[:n], data['train'].y[:n])  # the images the run trained on, as `evaluate` probes them
    net, _ = load_aae(model)
    r['extra']['style_probe'] = style_probe(net, train, data['test'])
    r['extra']['style_probe_added'] = f"after the run, by tools/add_style_probe.py from {Path(model).name} ({versions()})"
    path.write_text(json.dumps(r, indent=2, default=float) + '\n')
    print(f"{path.name}: digit read from the style z: {r['extra']['style_probe']}")

if __name__ == '__main__':
    if len(sys.argv) != 3: sys.exit(__doc__)
    main(*sys.argv[1:])
