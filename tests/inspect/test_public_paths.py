"""zerograd.inspect's public paths: the package, the root's re-exports and the zerograd.viz alias
module all name the same objects."""

import subprocess
import sys

import zerograd as zg
import zerograd.inspect
from zerograd.inspect import model_summary, viz


def test_root_names_are_the_inspect_packages():
    assert zg.summary is zerograd.inspect.summary is model_summary.summary
    assert zg.ModelSummary is zerograd.inspect.ModelSummary is model_summary.ModelSummary
    assert zg.LayerSummary is model_summary.LayerSummary
    assert zerograd.inspect.graph is viz.graph


def test_zerograd_viz_is_an_alias_of_the_inspect_module():
    from zerograd.viz import graph

    assert graph is viz.graph
    assert zg.viz is sys.modules["zerograd.viz"]
    assert zg.viz.graph is viz.graph
    assert zg.viz.__all__ == viz.__all__ == ["graph"]


def test_zerograd_viz_imports_first_in_a_fresh_interpreter():
    code = "import zerograd.viz as v, zerograd.inspect.viz as w; assert v.graph is w.graph"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_viz_draws_through_the_alias():
    W = zg.ones(2, 2, requires_grad=True)
    dot = zg.viz.graph((W * 2).sum(), params={"W": W})
    assert "W\\n(2, 2)" in dot and "output\\n()" in dot
