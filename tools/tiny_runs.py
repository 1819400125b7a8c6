"""Seeded tiny runs of every experiment command: the numbers a refactoring must leave unchanged.

    python tools/tiny_runs.py OUT.json            # run them all, write {run: {number: value}}
    python tools/tiny_runs.py OUT.json --compare BEFORE.json   # also list every number that differs

Each run trains 1-2 epochs on 600 MNIST images, 32 units, seed 0, one thread, fp32, into a scratch folder."""
import json, os, subprocess, sys, tempfile
from pathlib import Path

COMMON = ['--n_train', '600', '--width', '32', '--seed', '0', '--threads', '1', '--precision', 'fp32', '--save_model']
RUNS = {
    'basic_gaussian': ['aae_basic', '--epochs', '1'],
    'basic_mog_mmd': ['aae_basic', '--epochs', '1', '--prior', 'mog', '--regularizer', 'mmd'],
    'basic_vae': ['aae_basic', '--epochs', '1', '--prior', 'gaussian', '--regularizer', 'vae'],
    'basic_conv': ['aae_basic', '--epochs', '1', '--architecture', 'conv', '--batch_norm'],
    'conditioned_mog': ['aae_conditioned', '--epochs', '1', '--prior', 'mog', '--n_labels', '200'],
    'conditioned_swissroll': ['aae_conditioned', '--epochs', '1', '--prior', 'swissroll', '--n_labels', '200'],
    'supervised': ['aae_supervised', '--epochs', '1'],
    'supervised_cond_mmd': ['aae_supervised', '--epochs', '1', '--disc', 'cond_mmd'],
    'semi_100': ['aae_semi_supervised', '--epochs', '2', '--n_labels', '100'],
    'semi_100_paper': ['aae_semi_supervised', '--epochs', '1', '--n_labels', '100', '--recipe', 'paper', '--batch_norm'],
    'semi_mmd': ['aae_semi_supervised', '--epochs', '1', '--regularizer', 'mmd'],
    'semi_conv': ['aae_semi_supervised', '--epochs', '1', '--architecture', 'conv', '--batch_norm'],
    'clustering_16': ['aae_clustering', '--epochs', '1', '--n_clusters', '16'],
    'clustering_joint': ['aae_clustering', '--epochs', '1', '--n_clusters', '16', '--joint_adversaries'],
    'dimred_2d_100': ['aae_dim_reduction', '--epochs', '1', '--setting', '2d_100'],
    'dimred_10d_100': ['aae_dim_reduction', '--epochs', '1', '--setting', '10d_100', '--batch_norm'],
    'dimred_unsup': ['aae_dim_reduction', '--epochs', '1', '--setting', '2d_unsupervised_20'],
}

def numbers(d, prefix=''):
    "Every number in a results file but the clock's, flattened to 'a.b.c' keys"
    out = {}
    if isinstance(d, dict):
        for k, v in d.items():
            if k in ('wall_seconds', 'seconds_per_epoch', 'versions', 'device', 'command', 'wall_note'): continue
            out.update(numbers(v, f'{prefix}{k}.'))
    elif isinstance(d, list):
        for i, v in enumerate(d): out.update(numbers(v, f'{prefix}{i}.'))
    elif isinstance(d, (int, float)) and not isinstance(d, bool): out[prefix[:-1]] = d
    return out

def run_all():
    res, env = {}, dict(os.environ, MPLBACKEND='Agg', OMP_NUM_THREADS='1')
    with tempfile.TemporaryDirectory() as tmp:
        for name, args in RUNS.items():
            cmd = args + COMMON + ['--out', tmp, '--name', name]
            p = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if p.returncode: sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
            res[name] = numbers(json.loads((Path(tmp)/'results'/f'{name}.json').read_text()))
            print(name, res[name].get('value'), flush=True)
        p = subprocess.run(['aae_likelihood', '--model', f'{tmp}/models/basic_gaussian.pth', '--n_samples', '300',
                            '--epochs', '1', '--out', tmp, '--threads', '1'], capture_output=True, text=True, env=env)
        if p.returncode: sys.exit(f'aae_likelihood failed:\n{p.stderr[-2000:]}')
        res['likelihood'] = numbers(json.loads((Path(tmp)/'results'/'likelihood_basic_gaussian.json').read_text()))
    return res

if __name__ == '__main__':
    res = run_all()
    Path(sys.argv[1]).write_text(json.dumps(res, indent=1))
    if '--compare' in sys.argv:
        before = json.loads(Path(sys.argv[sys.argv.index('--compare') + 1]).read_text())
        diff = [(r, k, before[r].get(k), v) for r in res for k, v in res[r].items() if before.get(r, {}).get(k) != v]
        diff += [(r, k, v, None) for r in before for k, v in before[r].items() if k not in res.get(r, {})]
        for d in diff: print('DIFFERS', *d)
        print(f'{sum(len(v) for v in res.values())} numbers in {len(res)} runs; {len(diff)} differ')
