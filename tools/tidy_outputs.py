"""Tidy the outputs of executed notebooks, then check them; run it after executing a notebook, before `nbdev_clean`.

    python tools/tidy_outputs.py nbs/03_basic_aae.ipynb ...   # tidy these notebooks in place, then check them
    python tools/tidy_outputs.py --check [notebooks]          # only check (default: every notebook under nbs/)

Tidying: fastprogress's <style> blocks are dropped, and its metrics table keeps its HTML (what GitHub and Jupyter
show) with a plain-text copy of the same table in place of the raw HTML and the markdown wrapper of it.
Checking (`book_problems`): no output over 3,000 characters in any one format, no picture twice in one notebook.
"""
import hashlib, html, json, re, sys
from pathlib import Path

MAX_OUTPUT = 3000
ROOT = Path(__file__).resolve().parent.parent

def _text(v): return ''.join(v) if isinstance(v, list) else v

def table_text(table_html:str)->str:
    "A fastprogress HTML table as aligned plain text"
    rows = [[html.unescape(re.sub(r'<[^>]+>', '', c)).strip() for c in re.findall(r'<t[hd][^>]*>(.*?)</t[hd]>', r, re.S)]
            for r in re.findall(r'<tr[^>]*>(.*?)</tr>', table_html, re.S)]
    rows = [r for r in rows if r]
    if not rows: return ''
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    return '\n'.join('  '.join(c.rjust(w) for c, w in zip(r, widths)) for r in rows)

def tidy_output(o:dict)->dict|None:
    "The output tidied, or None to drop it"
    d = o.get('data', {})
    h = _text(d.get('text/html', ''))
    if h and re.fullmatch(r'\s*<style>.*?</style>\s*', h, re.S): return None
    if 'fastprogress' in h:
        d.pop('text/markdown', None)
        if '<progress' in h: return None  # a bar that never finished
        d['text/plain'] = table_text(h)
    return o

def tidy(path:Path)->int:
    "Tidy one notebook in place; return how many outputs changed or went"
    nb, n = json.loads(path.read_text()), 0
    for c in nb['cells']:
        if 'outputs' not in c: continue
        before = json.dumps(c['outputs'])
        c['outputs'] = [t for o in c['outputs'] if (t := tidy_output(o)) is not None]
        n += json.dumps(c['outputs']) != before
    if n: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return n

def book_problems(path:Path)->list:
    "What breaks the book's output rules in one notebook: outputs over `MAX_OUTPUT` characters, a picture shown twice"
    nb, seen, problems = json.loads(Path(path).read_text()), {}, []
    for i, c in enumerate(nb['cells']):
        for o in c.get('outputs', []):
            texts = {'stream': _text(o.get('text', ''))} | {k: _text(v) for k, v in o.get('data', {}).items() if k.startswith('text/')}
            problems += [f"{path.name} cell {i}: {k} output of {len(v):,} characters (at most {MAX_OUTPUT:,})"
                         for k, v in texts.items() if len(v) > MAX_OUTPUT]
            png = o.get('data', {}).get('image/png')
            if png:
                h = hashlib.sha1(_text(png).encode()).hexdigest()
                if h in seen: problems.append(f"{path.name} cell {i}: the picture of cell {seen[h]} again")
                seen.setdefault(h, i)
    return problems

if __name__ == '__main__':
    args = [a for a in sys.argv[1:] if a != '--check']
    paths = [Path(a) for a in args] or sorted((ROOT/'nbs').rglob('*.ipynb'))
    if '--check' not in sys.argv:
        for p in paths: print(f"{p}: {tidy(p)} outputs tidied")
    problems = [q for p in paths for q in book_problems(p)]
    print('\n'.join(problems) or f"{len(paths)} notebooks: every output within {MAX_OUTPUT:,} characters, no picture twice")
    sys.exit(1 if problems else 0)
