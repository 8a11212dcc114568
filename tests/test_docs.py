"""The docs site: every Python example in ``docs/*.md`` runs, and the site builds with no warning.

**Examples.** Each page's fenced ``python`` blocks (info string ``python``, ``py`` or ``python3``)
run in order, in one fresh Python process per page, so a later block may use what an earlier block
of the same page defined: a page reads top to bottom as one script. The process runs in an empty
temporary directory, with the checkout importable, one torch thread, ``MPLBACKEND=Agg`` and
``HF_HUB_OFFLINE=1`` (an example must not need the network), and a timeout of ``PAGE_TIMEOUT``
seconds. Each block keeps its page's line numbers, so a traceback's line is the line in the page.
The test ids are the page names; a page without python blocks is skipped. Every page in docs/ is
collected, including pages added later. Other blocks (``bash``, ``console``, ``yaml``, a fence
with no language) are shown, never run.

**Excluding a block** takes a visible marker with a reason: an HTML comment on the line directly
above the block's opening fence::

    <!-- skip-test: needs a CUDA GPU -->
    ```python
    model.cuda()
    ```

The comment does not show on the rendered page (nor on GitHub); the reason is required, and a
``skip-test`` comment that is not directly above a python block fails the test, so none goes
stale. There is no other way to exclude a block.

**The build** (``slow``): ``sphinx-build -W --keep-going -b html docs <tmp>``, what ``make docs``
runs, into a temporary directory; then every name that tests/test_public_api.py pins is in the
site's object inventory, so the API reference documents exactly the public API.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_public_api import PUBLIC

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

#: Seconds one page's examples may take, all blocks together (imports included).
PAGE_TIMEOUT = 300
#: Seconds the docs build may take (measured: about 20 s cold on 2 cores).
BUILD_TIMEOUT = 600

PYTHON_LANGUAGES = {"python", "py", "python3"}
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_SKIP = re.compile(r"^\s*<!--\s*skip-test:(?P<reason>.*?)-->\s*$")


@dataclass
class Block:
    line: int  # 1-based line of the block's first code line in the page
    code: list[str]  # the block's lines, the fence's indentation removed
    skip: str | None  # the reason given by a skip-test comment, or None


def python_blocks(text: str, page: str = "<page>") -> list[Block]:
    """The page's python blocks in order, each with the skip reason of the comment above it, if any.

    Raises:
        ValueError: a ``skip-test`` comment without a reason, or not directly above a python block.
    """
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"].split()
        end = i + 1
        while end < len(lines):  # the closing fence: same character, at least as long, no info
            closing = _FENCE.match(lines[end])
            same_kind = closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence)
            if same_kind and not closing["info"].strip():
                break
            end += 1
        if info and info[0].lower() in PYTHON_LANGUAGES:
            skip = _SKIP.match(lines[i - 1]) if i > 0 else None
            code = [
                line[len(indent) :] if line.startswith(indent) else line.lstrip()
                for line in lines[i + 1 : end]
            ]
            blocks.append(Block(line=i + 2, code=code, skip=skip["reason"].strip() if skip else None))
            if skip and not blocks[-1].skip:
                raise ValueError(f"{page}:{i}: a skip-test comment needs a reason: <!-- skip-test: why -->")
        i = end + 1
    # A skip-test comment anywhere else is a mistake (a typo'd fence, a moved block): say so.
    marked = {block.line - 3 for block in blocks if block.skip is not None}  # 0-based, the line above
    for number, line in enumerate(lines):
        if _SKIP.match(line) and number not in marked:
            raise ValueError(
                f"{page}:{number + 1}: a skip-test comment must be directly above a ```python block"
            )
    return blocks


def page_script(blocks: list[Block]) -> str:
    """One script of the page's runnable blocks, each at its line in the page (tracebacks match)."""
    script: list[str] = []
    for block in blocks:
        if block.skip is not None:
            continue
        script += [""] * (block.line - 1 - len(script))
        script += block.code
    return "\n".join(script) + "\n"


@pytest.mark.process
@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_page_examples_run(page: Path, tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    blocks = python_blocks(page.read_text(encoding="utf-8"), page=f"docs/{page.name}")
    runnable = [block for block in blocks if block.skip is None]
    if not runnable:
        reasons = "; ".join(f"line {block.line}: {block.skip}" for block in blocks)
        pytest.skip(f"no python blocks to run ({reasons})" if blocks else "no python blocks")
    # Named after the page, but never like a package (a docs/timm.md script named timm.py would
    # shadow timm itself).
    script = tmp_path / f"docs_page_{page.stem.replace('-', '_')}.py"
    script.write_text(page_script(blocks), encoding="utf-8")
    env = {**subprocess_env, "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1"}
    try:
        proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=PAGE_TIMEOUT)  # fmt: skip
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"docs/{page.name}: its examples ran past {PAGE_TIMEOUT} s\n{err.stderr or ''}"[-4000:])
    # Tracebacks name the script; its line numbers are the page's.
    output = (proc.stdout + proc.stderr).replace(str(script), f"docs/{page.name}")
    assert proc.returncode == 0, f"docs/{page.name}: its examples failed\n{output[-6000:]}"


def test_blocks_are_read_with_their_lines_and_skip_markers() -> None:
    page = "\n".join(
        [
            "# A page",  # 1
            "```python",  # 2
            "x = 1",  # 3
            "```",  # 4
            "<!-- skip-test: needs a GPU -->",  # 5
            "```python",  # 6
            "x.cuda()",  # 7
            "```",  # 8
            "```bash",  # 9
            "make docs",  # 10
            "```",  # 11
            "1. a list item:",  # 12
            "   ````py",  # 13
            "   y = x + 1",  # 14
            "   ````",  # 15
        ]
    )
    blocks = python_blocks(page)
    assert [(b.line, b.code, b.skip) for b in blocks] == [
        (3, ["x = 1"], None),
        (7, ["x.cuda()"], "needs a GPU"),
        (14, ["y = x + 1"], None),
    ]
    assert page_script(blocks).splitlines() == ["", "", "x = 1", *[""] * 10, "y = x + 1"]
    with pytest.raises(ValueError, match="needs a reason"):
        python_blocks("<!-- skip-test: -->\n```python\nx = 1\n```\n")
    with pytest.raises(ValueError, match="directly above"):
        python_blocks("<!-- skip-test: stale -->\n\n```python\nx = 1\n```\n")
    with pytest.raises(ValueError, match="directly above"):
        python_blocks("<!-- skip-test: not python -->\n```bash\nls\n```\n")


@pytest.mark.slow
@pytest.mark.process
def test_docs_build_without_warnings(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    out = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(DOCS), str(out)]
    proc = subprocess.run(command, cwd=ROOT, env=subprocess_env, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT)  # fmt: skip
    assert proc.returncode == 0, (proc.stdout[-3000:] + proc.stderr[-6000:]) or "no output"

    from sphinx.util.inventory import InventoryFile

    with (out / "objects.inv").open("rb") as f:
        inventory = InventoryFile.load(f, "", lambda base, uri: uri)
    documented = {name for objects in _inventory_items(inventory) for name in objects}
    missing = []
    for module_name, names in PUBLIC.items():
        module = importlib.import_module(module_name)
        for name in names:
            # A re-export (radam_integrations.RAdam = optim.RAdam) is indexed under one public name.
            same = [other for other, exported in PUBLIC.items() if name in exported
                    and getattr(importlib.import_module(other), name) is getattr(module, name)]  # fmt: skip
            if not any(f"{other}.{name}" in documented for other in same):
                missing.append(f"{module_name}.{name}")
    assert missing == [], f"public names the API reference does not document: {missing}"


def _inventory_items(inventory: object) -> list[dict[str, object]]:
    # Sphinx 9's inventory object keeps {type: {name: item}} in .data; older ones are that dict.
    data = getattr(inventory, "data", inventory)
    return list(data.values())  # type: ignore[union-attr]
