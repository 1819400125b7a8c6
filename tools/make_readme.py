"""Make README.md from nbs/index.ipynb with jupyter's nbconvert (nbdev_readme needs Quarto, which we don't have),
the table of every results file (results/README.md) and the README's picture (figures/aae_diagram.png).

    python tools/make_readme.py          # write them
    python tools/make_readme.py --check  # exit 1 if README.md or results/README.md is out of date, or the picture is missing
"""
import re, sys
from pathlib import Path
from nbconvert import MarkdownExporter
from traitlets.config import Config

root = Path(__file__).resolve().parent.parent
DIAGRAM = root/'figures'/'aae_diagram.png'

def render() -> str:
    cfg = Config()
    cfg.TagRemovePreprocessor.remove_input_tags = ('hide',)
    cfg.TemplateExporter.exclude_input_prompt = True
    exporter = MarkdownExporter(config=cfg)
    import nbformat
    nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
    # nbdev directives: drop `#| hide` cells entirely, and the input of `#| echo: false` cells
    cells = []
    for c in nb.cells:
        src = c.source.lstrip()
        if c.cell_type == 'code' and re.match(r'#\|\s*hide', src): continue
        if c.cell_type == 'code' and re.match(r'#\|\s*echo:\s*false', src): c.metadata['transient'] = {'remove_source': True}; c.source = ''
        cells.append(c)
    nb.cells = cells
    body, _ = exporter.from_notebook_node(nb)
    body = re.sub(r'```python\n\s*```\n', '', body)  # inputs we removed
    body = re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'
    return '<!-- Generated from nbs/index.ipynb by tools/make_readme.py: edit that notebook, not this file. -->\n\n' + body

def render_results() -> str:
    from aae_nb.results import results_table
    return ('<!-- Generated from results/*.json and results/research/*.json by tools/make_readme.py. -->\n\n# Every results file\n\n'
            'Each file holds one run (or the aggregate of several seeds, shown as mean ± std in place of its seeds), with the '
            'command that re-creates it; `paper` is the paper\'s number where it has one. The numbers the README compares '
            'with the paper are `PAPER_NUMBERS` in `aae_nb/results.py`.\n\n'
            '## The book\'s runs (`results/`)\n\nThose behind the README\'s table of the paper\'s numbers, and those a chapter or '
            'an appendix shows.\n\n' + results_table(root/'results') + '\n\n'
            '## Research runs (`results/research/`)\n\nAblations, screening runs, negative results and superseded recipes, '
            'read by the research notebooks (`nbs/research/`). Their commands name them `research/<name>`, so a command '
            're-creates its file here (and its figures in `figures/research/`).\n\n' + results_table(root/'results'/'research') + '\n')

def draw_diagram():
    import matplotlib; matplotlib.use('Agg')
    from aae_nb.basic import aae_diagram
    aae_diagram(title=None).savefig(DIAGRAM, dpi=90, metadata={'Software': None})

if __name__ == '__main__':
    outputs = {root/'README.md': render(), root/'results'/'README.md': render_results()}
    if '--check' in sys.argv:
        stale = [p.relative_to(root) for p, text in outputs.items() if not p.exists() or p.read_text() != text]
        if stale: sys.exit(f"{', '.join(map(str, stale))} out of date with nbs/index.ipynb and results/: run `python tools/make_readme.py`")
        if not DIAGRAM.exists(): sys.exit(f"{DIAGRAM.relative_to(root)} is missing: run `python tools/make_readme.py`")
        print("README.md and results/README.md are in sync; the diagram is there")
    else:
        for p, text in outputs.items(): p.write_text(text); print(f"wrote {p}")
        draw_diagram(); print(f"wrote {DIAGRAM}")
