"""A short fuzz run of every file reader, the CI slice of ``tools/fuzz.py``.

Two kinds of run, both through the generators of ``tools/fuzz.py`` (docs/reliability.md has the
dedicated 100,000-input runs):

- a fixed, seeded sequence of inputs per reader, the same one every run;
- Hypothesis driving the same generators through ``st.randoms()``, so a failure is shrunk and
  replayed by Hypothesis' database.

Every input must end in a valid load or the library's own clear error (its documented type, a
message naming the file, raised in zerograd's code, and no model or optimizer left half-loaded).
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "tools" / "fuzz.py"
if not FUZZ.exists():  # an installed copy of the tests without the repository's tools/
    pytest.skip(
        "needs tools/fuzz.py from the zerograd repository: run the tests from a checkout",
        allow_module_level=True,
    )

_spec = importlib.util.spec_from_file_location("zerograd_fuzz_tool", FUZZ)
fuzz = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fuzz
_spec.loader.exec_module(fuzz)

# inputs per reader in the fixed run: 7 s for all four on a shared 2-core machine (--durations)
INPUTS = {"idx": 5000, "safetensors": 3000, "checkpoint": 1500, "pt": 1500}
SEED = 2024  # not the dedicated runs' seed (0): CI covers other inputs


def _skip_unless_available(reader):
    if reader == "pt":
        pytest.importorskip(
            "torch",
            reason="needs torch (the pt target makes its seed files with torch.save): pip install "
            '"zerograd[test]"',
        )
        if fuzz._load_pytorch() is None:
            pytest.skip("zerograd.io.load_pytorch is not in this zerograd yet")


def _report(summary) -> str:
    lines = [summary.line()]
    for i, how, problem, frame in summary.crashes[:10]:
        lines.append(f"  #{i} ({how}): {problem} [at {frame}]")
    lines.append(
        f"replay one: python tools/fuzz.py --reader {summary.reader} --seed {SEED} --start N "
        "--inputs 1 --save-crashes DIR"
    )
    return "\n".join(lines)


@pytest.mark.parametrize("reader", list(INPUTS))
def test_fixed_run_has_no_crash(reader):
    _skip_unless_available(reader)
    summary = fuzz.fuzz(reader, INPUTS[reader], seed=SEED, out=sys.stderr)
    assert not summary.crashes, _report(summary)
    assert summary.inputs == INPUTS[reader]
    # the generators reach both ends: files that load and files that are refused
    assert summary.valid > 0 and summary.errors > summary.valid, summary.line()


@pytest.fixture(scope="module")
def targets(tmp_path_factory):
    made = {}

    def get(reader):
        if reader not in made:
            made[reader] = fuzz.TARGETS[reader](tmp_path_factory.mktemp(reader))
        return made[reader]

    return get


try:
    import hypothesis
    from hypothesis import strategies as st
except ImportError:  # the fixed runs above still run
    hypothesis = None

if hypothesis is not None:

    @pytest.mark.parametrize("reader", list(INPUTS))
    @hypothesis.settings(
        max_examples=100,
        deadline=None,
        suppress_health_check=[hypothesis.HealthCheck.too_slow],
        derandomize=True,
    )
    @hypothesis.given(rng=st.randoms(use_true_random=False))
    def test_hypothesis_inputs_have_no_crash(targets, reader, rng):
        _skip_unless_available(reader)
        outcome, data, how, problem, frame = fuzz.run_one(targets(reader), rng)
        assert outcome in ("valid", "error"), f"{how}: {problem} [at {frame}] ({len(data)} bytes)"


def test_inputs_are_reproducible(tmp_path):
    """Input i depends on the seed and i only, so a crash number can be replayed."""
    target = fuzz.TARGETS["safetensors"](tmp_path)
    first = [target.generate(random.Random(f"7:safetensors:{i}"))[:2] for i in range(50)]
    again = [target.generate(random.Random(f"7:safetensors:{i}"))[:2] for i in range(50)]
    assert first == again
    assert len({data for data, _ in first}) > 40  # and they differ from each other
