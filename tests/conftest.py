"""The package's own doctests (src/zerograd, collected by ``--doctest-modules``) that need an
optional extra skip without it, saying what to install, as the tests here do."""

import importlib.util
from pathlib import Path

import pytest

# doctest -> (the module it needs, why the test skips without it)
DOCTESTS_NEEDING_AN_EXTRA = {
    "zerograd.data.images.load_image": ("PIL", 'needs Pillow: pip install "zerograd[image]"'),
    "zerograd.train.tensorboard.TensorBoard": (
        "tensorboardX",
        'needs tensorboardX: pip install "zerograd[tensorboard]"',
    ),
}


# modules that cannot be imported without an extra (as torch.utils.tensorboard cannot without
# tensorboard): their doctests are not collected without it
MODULES_NEEDING_AN_EXTRA = {"src/zerograd/utils/tensorboard.py": "tensorboardX"}


def pytest_configure(config):
    root = Path(__file__).resolve().parents[1]
    missing = [str(root / path) for path, module in MODULES_NEEDING_AN_EXTRA.items()
               if importlib.util.find_spec(module) is None]  # fmt: skip
    config.option.ignore = [*(config.option.ignore or []), *missing]


def pytest_collection_modifyitems(config, items):
    # a hook of this conftest sees every collected item, src/zerograd's doctests included
    for item in items:
        module, reason = DOCTESTS_NEEDING_AN_EXTRA.get(item.name, (None, None))
        if module and importlib.util.find_spec(module) is None:
            item.add_marker(pytest.mark.skip(reason=reason))
