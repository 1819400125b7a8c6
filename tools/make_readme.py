"""Make README.md from nbs/index.ipynb with jupyter's nbconvert (nbdev_readme needs Quarto, which we don't have).

    python tools/make_readme.py          # write README.md
    python tools/make_readme.py --check  # exit 1 if README.md is out of date
"""
import re, sys
from pathlib import Path
from nbconvert import MarkdownExporter
from traitlets.config import Config

root = Path(__file__).resolve().parent.parent

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

if __name__ == '__main__':
    text, readme = render(), root/'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python tools/make_readme.py`")
        print("README.md is in sync with nbs/index.ipynb")
    else:
        readme.write_text(text); print(f"wrote {readme}")
