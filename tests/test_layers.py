"""The package's import graph: no cycle between modules, and every module imports only its
own layer and the layers below it (the table of docs/CONTRACTS.md, "Layers").

Pure ``ast``: every ``import`` / ``from ... import`` of every module of ``mmcenternet``,
those inside functions included, resolved to the modules of the package it names (as
``/work/shared/tools/import_cycles.py`` does; importing a package's parent packages is not
counted). Nothing of the package is imported.
"""
import ast
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, 'mmcenternet')
CONTRACTS = os.path.join(ROOT, 'docs', 'CONTRACTS.md')


def module_name(path: str) -> str:
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def import_graph():
    """``{module: {imported module of the package: first line number}}``."""
    files = {}
    for folder, _, names in os.walk(PACKAGE):
        for name in names:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                files[module_name(path)] = path
    edges = {}
    for mod, path in files.items():
        is_pkg = path.endswith('__init__.py')
        found = edges[mod] = {}
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = mod if is_pkg else mod.rpartition('.')[0]
                for _ in range(max(node.level - 1, 0)):
                    base = base.rpartition('.')[0]
                prefix = (f'{base}.{node.module}' if node.module else base) if node.level \
                    else node.module
                targets = [prefix] + [f'{prefix}.{a.name}' for a in node.names]
            else:
                continue
            for target in targets:
                if target in files and target != mod:
                    found.setdefault(target, node.lineno)
    return files, edges


def strongly_connected(edges):
    """Components of more than one module (Tarjan), without a package's own children
    re-exported by its ``__init__`` (``pkg`` <-> ``pkg.child`` only)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            comp.sort()
            if len(comp) > 1 and not all(x == comp[0] or x.startswith(comp[0] + '.')
                                         for x in comp):
                out.append(comp)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def layer_table():
    """``{'mmcenternet.x': layer}`` from the "Layers" table of docs/CONTRACTS.md."""
    with open(CONTRACTS, encoding='utf-8') as f:
        text = f.read()
    section = text.split('## Layers', 1)[1].split('\n## ', 1)[0]
    table = {}
    for number, cell in re.findall(r'^\| (\d+) \| ([^|]+) \|', section, re.M):
        for name in re.findall(r'`(mmcenternet(?:\.\w+)?)`', cell):
            table[name] = int(number)
    return table


def layer_of(module: str, table: dict):
    """The layer of the longest table entry that is ``module`` or a package above it."""
    parts = module.split('.')
    for end in range(len(parts), 0, -1):
        name = '.'.join(parts[:end])
        if name in table:
            return table[name]
    return None


def test_no_import_cycles():
    files, edges = import_graph()
    assert len(files) > 100  # the walk found the package
    cycles = strongly_connected({m: set(t) for m, t in edges.items()})
    assert not cycles, 'import cycles (every import counts, those inside functions too):\n' + \
        '\n'.join(' <-> '.join(c) for c in cycles)


def test_every_module_imports_only_its_layer_and_the_layers_below():
    table = layer_table()
    assert table['mmcenternet.apis'] > table['mmcenternet.deploy'] > \
        table['mmcenternet.datasets'] > table['mmcenternet.registry']
    files, edges = import_graph()
    unplaced = sorted(m for m in files if layer_of(m, table) is None)
    assert not unplaced, f'modules in no layer of docs/CONTRACTS.md: {unplaced}'
    upward = [f'{os.path.relpath(files[m], ROOT)}:{line}: {m} (layer {layer_of(m, table)}) '
              f'imports {t} (layer {layer_of(t, table)})'
              for m in sorted(edges) for t, line in sorted(edges[m].items())
              if layer_of(t, table) > layer_of(m, table)]
    assert not upward, 'imports of a higher layer:\n' + '\n'.join(upward)
