"""The widgets of nbs/10_explore.ipynb the way a person uses them: JupyterLab on localhost with a fresh token, the
notebook opened and run in headless Chromium (Debian's `chromium`, driven by Playwright without a browser download),
a slider moved with the keyboard, and the rendered image compared before and after.

Needs `apt-get install chromium` and `pip install playwright`. Without them the test is skipped with the reason, unless
`AAE_NB_REQUIRE_BROWSER=1` (set by CI) turns the skip into a failure. `AAE_NB_SCREENSHOTS=<folder>` keeps the
screenshots (the docs' figures/explore_before.png and explore_after.png come from there)."""
import json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT/'nbs'/'10_explore.ipynb'
CHROMIUM = os.environ.get('AAE_NB_CHROMIUM', '/usr/bin/chromium')
# Chromium on a closed network: no background connections, no sandbox (root), no GPU
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']


def _missing():
    "Why the browser test cannot run here, or None"
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return 'playwright is not installed: pip install playwright'
    if not Path(CHROMIUM).exists(): return f'no Chromium at {CHROMIUM}: apt-get install chromium, or set AAE_NB_CHROMIUM'
    return None


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _without_outputs(src:Path, dst:Path):
    "Copy the notebook with its outputs and widget state removed, so only the browser's run can make the widgets"
    nb = json.loads(src.read_text())
    nb['cells'] = [c for c in nb['cells'] if 'nbdev_export' not in ''.join(c['source'])]  # writes the library: not here
    for c in nb['cells']:
        if c['cell_type'] == 'code': c['outputs'], c['execution_count'] = [], None
    nb['metadata'].pop('widgets', None)
    dst.write_text(json.dumps(nb))


@pytest.fixture
def jupyterlab(tmp_path):
    "A JupyterLab server on a free localhost port with a fresh token, serving a copy of the widgets notebook; shut down after"
    why = _missing()
    if why:
        if os.environ.get('AAE_NB_REQUIRE_BROWSER'): pytest.fail(why)
        pytest.skip(why)
    work = tmp_path/'nbs'; work.mkdir()
    _without_outputs(NOTEBOOK, work/'explore.ipynb')
    (tmp_path/'results').mkdir()  # the notebook shows how its trained models were made, from their results files
    for f in (ROOT/'results').glob('explore_*.json'): shutil.copy(f, tmp_path/'results'/f.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, IN_TEST='1', JUPYTER_RUNTIME_DIR=str(tmp_path/'runtime'),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path/'workspaces'), JUPYTER_CONFIG_DIR=str(tmp_path/'config'))
    env.pop('MPLBACKEND', None)  # the kernel's own inline backend
    log = open(tmp_path/'jupyter.log', 'w')
    server = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', f'--port={port}', '--ip=127.0.0.1',
                               f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={work}',
                               '--ServerApp.port_retries=0', '--LabApp.news_url=None', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
                              + (['--allow-root'] if os.geteuid() == 0 else []),
                              cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2)
                break
            except OSError:
                if server.poll() is not None: pytest.fail(f"JupyterLab exited: {(tmp_path/'jupyter.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else: pytest.fail('JupyterLab did not answer within 60 s')
        yield url, token
    finally:
        try: urllib.request.urlopen(urllib.request.Request(f'{url}/api/shutdown?token={token}', method='POST'), timeout=5)
        except OSError: pass
        try: server.wait(20)
        except subprocess.TimeoutExpired: server.kill()
        log.close()


def _run_all(page):
    "Run > Run All Cells from JupyterLab's menu bar"
    page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
    page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()


def test_slider_redraws_the_image_in_a_browser(jupyterlab):
    from playwright.sync_api import sync_playwright
    url, token = jupyterlab
    shots = Path(os.environ['AAE_NB_SCREENSHOTS']) if os.environ.get('AAE_NB_SCREENSHOTS') else None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={'width': 1300, 'height': 900})
            page.goto(f'{url}/lab/tree/explore.ipynb?token={token}')
            page.wait_for_selector('.jp-Notebook .jp-Cell', timeout=60_000)
            select = page.locator('.jp-Dialog button', has_text='Select')   # JupyterLab asks which kernel
            try: select.click(timeout=15_000)
            except Exception: pass  # no dialog: the kernel started by itself
            news = page.locator('.jp-toast-button', has_text='No')   # "get notified about Jupyter news?"
            if news.count(): news.first.click()
            _run_all(page)
            # every code cell has run (its prompt shows a number): the notebook's own tests move sliders too
            page.wait_for_function('''() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                return p.length > 0 && p.every(e => /\\[\\d+\\]/.test(e.textContent)); }''', timeout=300_000)
            # the first explorer: its sliders and the image they control
            explorer = page.locator('.jp-OutputArea-output .widget-hbox').filter(has=page.locator('img')).first
            explorer.wait_for(timeout=30_000)
            image, handle = explorer.locator('img').first, explorer.locator('.noUi-handle').first
            image.wait_for(timeout=30_000)
            explorer.scroll_into_view_if_needed()
            src_before, png_before = image.get_attribute('src'), image.screenshot()
            if shots: shots.mkdir(parents=True, exist_ok=True); explorer.screenshot(path=str(shots/'explore_before.png'))
            readout_before = float(explorer.locator('.widget-readout').first.inner_text().replace('\u2212', '-'))
            handle.focus()
            for _ in range(40): page.keyboard.press('ArrowRight')
            page.wait_for_function('([img, src]) => img.getAttribute("src") !== src', arg=[image.element_handle(), src_before],
                                   timeout=30_000)
            page.wait_for_timeout(500)  # let the new image paint
            png_after = image.screenshot()
            if shots: explorer.screenshot(path=str(shots/'explore_after.png'))
            readout = float(explorer.locator('.widget-readout').first.inner_text().replace('\u2212', '-'))
        except Exception:
            page.screenshot(path=str(Path(os.environ.get('AAE_NB_SCREENSHOTS') or '.')/'browser_failure.png'), full_page=True)
            raise
        finally: browser.close()
    assert readout > readout_before, f"the slider did not move (readout {readout_before} -> {readout})"
    assert png_after != png_before, "the rendered image is the same after the slider moved"
    # the figure is the decoded digit (left half) beside the map of test codes with the current point (right half)
    import io
    import numpy as np
    from PIL import Image
    before, after = (np.asarray(Image.open(io.BytesIO(b)).convert('L'), dtype=float) for b in (png_before, png_after))
    half = before.shape[1] // 2
    assert np.abs(before[:, :half] - after[:, :half]).mean() > 1, "the decoded digit did not change"
    assert np.abs(before[:, half:] - after[:, half:]).max() > 50, "the point did not move on the map"
