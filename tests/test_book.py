"""The notebooks as a book: outputs a reader can take in, and chapters that read idea → equations → diagram → code → run →
results → what to try. These read the committed notebooks; they run nothing."""
import importlib.util, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT/'nbs'
_spec = importlib.util.spec_from_file_location('tidy_outputs', ROOT/'tools'/'tidy_outputs.py')
tidy_outputs = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(tidy_outputs)

# The paper's chapters rewritten in the book's anatomy; the others still read as the lab record they were
BOOK_CHAPTERS = ['03_basic_aae', '04_label_conditioned', '05_likelihood', '06_supervised', '07_semi_supervised', '08_clustering', '09_dim_reduction']
ANATOMY = ['## The idea', '## The objective', ('## The architecture', '## The protocol'), '## The code', '## A quick run',
           '## Results against the paper', '## What to try']  # a tuple: any of these headings
# Notebooks whose committed outputs still break the rules (long metrics tables of full runs, pictures shown twice)
NOT_YET_TIDY = set()

def _headings(nb): return [l.strip() for c in nb['cells'] if c['cell_type'] == 'markdown'
                           for l in ''.join(c['source']).splitlines() if l.startswith('## ')]

@pytest.mark.parametrize('name', BOOK_CHAPTERS)
def test_chapter_anatomy(name):
    "A chapter's sections come in the book's order, with displayed equations and a drawn diagram"
    nb = json.loads((NBS/f'{name}.ipynb').read_text())
    step = lambda h: next((a for a in ANATOMY if h.startswith(a)), None)  # str.startswith takes a tuple of alternatives
    steps = [step(h) for h in _headings(nb) if step(h)]
    steps = [s for i, s in enumerate(steps) if not i or s != steps[i - 1]]  # two quick runs in a row are one step
    assert steps == ANATOMY, _headings(nb)
    text = ''.join(''.join(c['source']) for c in nb['cells'])
    assert len(re.findall(r'\$\$.+?\$\$', text, re.S)) >= 2, "the objective as displayed equations ($$ … $$)"
    assert 'diagram(' in text, "the architecture drawn with plots.diagram"
    assert 'FULL = False' in text, "full runs behind an explicit switch; the quick run writes to a scratch folder"

def test_outputs_within_bounds():
    "No output over 3,000 characters and no picture twice in one notebook, except where not yet tidied"
    problems = {p.stem: tidy_outputs.book_problems(p) for p in sorted(NBS.rglob('*.ipynb'))}
    bad = {k for k, v in problems.items() if v}
    assert bad <= NOT_YET_TIDY, {k: problems[k] for k in bad - NOT_YET_TIDY}
    assert not (NOT_YET_TIDY - bad), f"{NOT_YET_TIDY - bad} are tidy now: take them off NOT_YET_TIDY"

def test_tidy_keeps_the_table_and_drops_the_style():
    style = {'output_type': 'display_data', 'data': {'text/html': '<style>progress {}</style>', 'text/plain': '<HTML>'}, 'metadata': {}}
    table = {'output_type': 'display_data', 'metadata': {}, 'data': {
        'text/html': '<table class="fastprogress"><tr><th>epoch</th><th>loss</th></tr><tr><td>0</td><td>1.5</td></tr></table>',
        'text/markdown': '```html\n...```', 'text/plain': '<table ...'}}
    assert tidy_outputs.tidy_output(style) is None
    t = tidy_outputs.tidy_output(json.loads(json.dumps(table)))
    assert set(t['data']) == {'text/html', 'text/plain'} and t['data']['text/plain'] == 'epoch  loss\n    0   1.5'

def test_readme_at_most_40_table_rows():
    rows = [l for l in (ROOT/'README.md').read_text().splitlines() if l.startswith('|')]
    assert len(rows) <= 40, len(rows)

@pytest.mark.parametrize('name', BOOK_CHAPTERS)
def test_reproduce_commands_are_recorded(name):
    "A chapter's 'To reproduce them' commands are the commands its results files record, word for word"
    from aae_nb.results import read_results
    recorded = {r['command'] for r in read_results(ROOT/'results')}
    text = ''.join(''.join(c['source']) for c in json.loads((NBS/f'{name}.ipynb').read_text())['cells'] if c['cell_type'] == 'markdown')
    block = re.search(r"To reproduce them[^\n]*\n\n```sh\n(.*?)```", text, re.S)
    assert block, "no 'To reproduce them' block"
    commands = [l.split('#')[0].strip() for l in block.group(1).splitlines() if l.split('#')[0].strip()]
    assert commands and set(commands) <= recorded, set(commands) - recorded
