"""One command to check every experiment on a device: each command trains one short epoch there, is evaluated and
writes its results; the table gives the seconds per epoch beside those of the CPU (run it once with --device cpu).

    python benchmarks/device_check.py --device cuda             # on a machine with a GPU: about two minutes
    python benchmarks/device_check.py --device cpu --n_train 2000  # the CPU's times, for comparison

The results go to benchmarks/device_check_<device>.json (and the runs' own files under a temporary folder). A command
that fails is reported with the end of its error and the script carries on, then exits with status 1.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

COMMANDS = {  # every experiment and every phase: adversary, MMD, KL, label-conditioned, supervised, classification, clusters, heads
    'basic': 'aae_basic',
    'basic_mmd': 'aae_basic --regularizer mmd',
    'basic_vae': 'aae_basic --regularizer vae',
    'basic_conv': 'aae_basic --architecture conv --batch_norm',
    'conditioned': 'aae_conditioned --n_labels 1000',
    'supervised': 'aae_supervised --n_probe 1000',
    'supervised_label_aware': 'aae_supervised --disc label_aware --n_probe 1000',
    'semi_supervised': 'aae_semi_supervised --n_labels 100 --batch_norm',
    'semi_supervised_paper_mmd': 'aae_semi_supervised --n_labels 100 --recipe paper --regularizer mmd',
    'clustering': 'aae_clustering --n_clusters 16',
    'dim_reduction': 'aae_dim_reduction --setting 2d_1000 --batch_norm',
    'dim_reduction_unsupervised': 'aae_dim_reduction --setting 2d_unsupervised_20',
}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--device', default='cuda', help="Device to check: cuda, cuda:1, mps or cpu")
    p.add_argument('--n_train', type=int, default=10_000, help='Training images per epoch (of MNIST\'s 50,000)')
    p.add_argument('--only', nargs='+', choices=list(COMMANDS), help='Check only these')
    p.add_argument('--out', default=str(Path(__file__).parent), help='Folder of device_check_<device>.json')
    a = p.parse_args(argv)
    rows, failed, device = {}, [], a.device
    with tempfile.TemporaryDirectory() as d:
        for key in a.only or COMMANDS:
            cmd = COMMANDS[key].split() + ['--epochs', '1', '--n_train', str(a.n_train), '--device', a.device, '--out', d, '--name', key]
            start = time.time()
            r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {'MPLBACKEND': 'Agg'})
            if r.returncode:
                failed.append(key)
                rows[key] = {'command': ' '.join(cmd[:-4]), 'error': r.stderr.strip().splitlines()[-3:]}
                print(f"{key:28s} FAILED: {' | '.join(rows[key]['error'])}", flush=True)
                continue
            res = json.loads((Path(d)/'results'/f'{key}.json').read_text())
            device = res['device']
            rows[key] = {'command': ' '.join(cmd[:-4]), 'seconds_per_epoch': res['extra']['seconds_per_epoch'],
                         'seconds_with_evaluation': round(time.time() - start, 1), 'metric': res['metric'], 'value': res['value']}
            print(f"{key:28s} {rows[key]['seconds_per_epoch']:7.1f} s/epoch  {rows[key]['seconds_with_evaluation']:7.1f} s in all  "
                  f"{res['metric']} {res['value']:.4g}", flush=True)
    out = Path(a.out)/f"device_check_{a.device.replace(':', '')}.json"
    out.write_text(json.dumps({'device': device, 'n_train': a.n_train, 'runs': rows}, indent=2) + '\n')
    print(f"wrote {out}")
    if failed: sys.exit(f"failed on {a.device}: {' '.join(failed)}")

if __name__ == '__main__': main()
