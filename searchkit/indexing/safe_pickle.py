"""Opening a Whoosh index without letting its files run code.

Whoosh unpickles its table of contents (``_MAIN_*.toc``: the schema and the
segment list), stored fields and some posting blocks. A pickle can call any
importable function, so a crafted index directory (committed to a site's
repository, or downloaded) would run a command on the first query. Every
unpickling Whoosh does while reading goes through `RestrictedUnpickler`
instead, which resolves only the exact globals a searchkit index holds
(``ALLOWED``, gathered by building and querying indexes under whoosh3 3.54
and whoosh 2.7.4) and refuses anything else with `UnsafeIndex`. This is the
"restricting globals" pattern of Python's ``pickle`` documentation.

`install` patches Whoosh's modules in place (their ``pickle`` / ``loads`` /
``load`` names); `open_index`, the one way searchkit opens an index, calls it.
Older Whoosh table-of-contents formats (which use Whoosh's own renaming
unpickler) are refused: searchkit never wrote them. `check_toc` checks a
table of contents without importing Whoosh, for `searchkit index` to decide
cheaply whether the live index must be rebuilt.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import pickle
import types
from pathlib import Path

from searchkit.errors import SearchkitError


class UnsafeIndex(SearchkitError):
    """An index file asks for something no searchkit index holds; it is not loaded."""


# (module, name) exactly as the pickles spell them; protocol 2 pickles (the
# schema) name builtins "__builtin__". No dotted names, no module prefixes:
# protocol 4 resolves "a.b" by attribute lookup, which could reach os.system
# through any module that imports os. tests/test_safe_pickle.py checks that
# the schema of this searchkit needs nothing else.
ALLOWED = frozenset(
    [
        ("__builtin__", "frozenset"),
        ("__builtin__", "set"),
        ("__builtin__", "long"),
        ("__builtin__", "int"),
        ("builtins", "frozenset"),
        ("builtins", "set"),
        ("builtins", "int"),
        ("_codecs", "encode"),  # bytes in a protocol 2 pickle
        ("array", "array"),
        ("array", "_array_reconstructor"),
        ("collections", "defaultdict"),
        ("datetime", "datetime"),
        ("re", "_compile"),  # a tokenizer's pattern
        ("searchkit.schema", "FoldStopStemFilter"),
        ("searchkit.schema", "SearchText"),
        ("whoosh.analysis.analyzers", "CompositeAnalyzer"),
        ("whoosh.analysis.filters", "LowercaseFilter"),
        ("whoosh.analysis.filters", "StripFilter"),
        ("whoosh.analysis.tokenizers", "IDTokenizer"),
        ("whoosh.analysis.tokenizers", "RegexTokenizer"),
        ("whoosh.codec.whoosh3", "W3Codec"),
        ("whoosh.codec.whoosh3", "W3Segment"),
        ("whoosh.columns", "NumericColumn"),
        ("whoosh.columns", "VarBytesColumn"),
        ("whoosh.fields", "BOOLEAN"),
        ("whoosh.fields", "DATETIME"),
        ("whoosh.fields", "ID"),
        ("whoosh.fields", "KEYWORD"),
        ("whoosh.fields", "STORED"),
        ("whoosh.fields", "Schema"),
        ("whoosh.formats", "Existence"),
        ("whoosh.formats", "Frequency"),
        ("whoosh.formats", "Positions"),
    ]
)

# The Whoosh modules that unpickle what they read from an index's files.
# Both whoosh3 (which imports from pickle) and whoosh 2.7 (from whoosh.compat).
PATCHED_MODULES = (
    "whoosh.compat",
    "whoosh.index",
    "whoosh.filedb.structfile",
    "whoosh.filedb.compound",
    "whoosh.filedb.filetables",
    "whoosh.codec.whoosh3",
    "whoosh.columns",
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in `ALLOWED`."""

    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise _refusal(module, name)
        return super().find_class(module, name)


def _refusal(module: str, name: str) -> UnsafeIndex:
    return UnsafeIndex(
        f"refusing to load {module}.{name} from the index (not something a searchkit "
        "index holds); 'searchkit index --rebuild' makes a new one"
    )


def safe_load(file, **kwargs):
    """`pickle.load`, restricted to `ALLOWED`."""
    return RestrictedUnpickler(file, **kwargs).load()


def safe_loads(data, **kwargs):
    """`pickle.loads`, restricted to `ALLOWED`."""
    return RestrictedUnpickler(io.BytesIO(data), **kwargs).load()


def _safe_pickle_module() -> types.ModuleType:
    shim = types.ModuleType("pickle")
    shim.__dict__.update({k: v for k, v in vars(pickle).items() if not k.startswith("__")})
    shim.load, shim.loads, shim.Unpickler = safe_load, safe_loads, RestrictedUnpickler
    return shim


_installed = False  # set once Whoosh's modules are patched


def install() -> None:
    """Route every unpickling of Whoosh's index readers through `RestrictedUnpickler`."""
    global _installed
    if _installed:
        return
    shim = _safe_pickle_module()
    for name in PATCHED_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # a module this Whoosh version does not have
            continue
        for attr, value in list(vars(module).items()):
            if value is pickle.loads:
                setattr(module, attr, safe_loads)
            elif value is pickle.load:
                setattr(module, attr, safe_load)
            elif value is pickle:
                setattr(module, attr, shim)
    index = importlib.import_module("whoosh.index")
    if isinstance(getattr(index, "toc_loaders", None), dict):
        index.toc_loaders = {}  # old formats unpickle with Whoosh's own unpickler
    _installed = True


def open_index(gen: Path | str):
    """Open the Whoosh index in ``gen`` with restricted unpickling.

    Its newest table of contents is checked first (`check_toc`, 0.3 ms), so
    a refused one fails before Whoosh opens it (and leaves no file open).
    """
    from whoosh import index as whoosh_index

    install()
    tocs = sorted(Path(gen).glob("_MAIN_*.toc"), key=_toc_generation)
    if tocs:
        with contextlib.suppress(ValueError):  # Whoosh gives its own error for those
            check_toc(tocs[-1])
    return whoosh_index.open_dir(str(gen))


def _toc_generation(path: Path) -> int:
    number = path.name[len("_MAIN_") : -len(".toc")]
    return int(number) if number.isdigit() else -1


class _Stub:
    """Stands for any allowed global while `check_toc` walks a pickle."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Stub()

    def __setstate__(self, state):
        pass

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _Checker(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ALLOWED:
            raise _refusal(module, name)
        return _Stub


def check_toc(path: Path | str) -> None:
    """Raise `UnsafeIndex` if a Whoosh table of contents asks for a disallowed global.

    Walks the file's two pickles (the schema, the segment list) with the
    globals replaced by stubs, so nothing is imported or called: about 0.1 ms
    against ~100 ms for importing Whoosh to open the index. Raises
    ValueError if the file is not a table of contents.
    """
    data = Path(path).read_bytes()
    pos = 0

    def varint() -> int:
        nonlocal pos
        shift = value = 0
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    try:
        for _ in range(3):  # int, long and float sizes
            varint()
        pos += 8  # -12345 and the format version, 4 bytes each
        for _ in range(3):  # Whoosh's version
            varint()
        length = varint()
        schema, pos = data[pos : pos + length], pos + length
        segments = data[pos + 8 :]  # after the generation and an unused int
        for part in (schema, segments):
            _Checker(io.BytesIO(part)).load()
    except UnsafeIndex:
        raise
    except Exception as exc:  # truncated or not a table of contents
        raise ValueError(f"{Path(path).name}: not a readable table of contents ({exc})") from None
