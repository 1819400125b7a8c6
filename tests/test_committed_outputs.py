"What a reader sees of the committed notebooks without a kernel (GitHub, nbviewer, nbconvert): pictures, not widget placeholders"
import base64, io, json
from pathlib import Path
import numpy as np
from PIL import Image

NBS = Path(__file__).resolve().parents[1]/'nbs'
EXPLORERS = ('DecoderExplorer(', 'style_label_explorer(', 'ClusterBrowser(', 'InterpolationExplorer(')

def test_every_explorer_has_a_picture_in_the_committed_notebook():
    nb = json.loads((NBS/'10_explore.ipynb').read_text())
    shown = {}
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or '#| export' in src or 'test_fail' in src: continue
        for e in EXPLORERS:
            if e in src and src.strip().splitlines()[-1].isidentifier():  # a cell that makes an explorer and shows it
                pngs = [o['data']['image/png'] for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
                widget = any('application/vnd.jupyter.widget-view+json' in o.get('data', {}) for o in c.get('outputs', []))
                shown[e] = (pngs, widget)
    assert set(shown) == set(EXPLORERS), f"explorers shown: {sorted(shown)}"
    for e, (pngs, widget) in shown.items():
        assert pngs and widget, f"{e}: the committed output needs the widget and a picture of it (run the notebook and commit it)"
        img = np.asarray(Image.open(io.BytesIO(base64.b64decode(pngs[0]))).convert('L'), dtype=float)
        assert img.shape[1] >= 200 and img.std() > 20, f"{e}: the picture looks empty ({img.shape}, std {img.std():.1f})"
