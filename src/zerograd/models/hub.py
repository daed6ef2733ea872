"""The model hub: trained weights shipped with zerograd; ``pretrained(name)`` gives a model ready
to use.

Each file in ``zerograd/models/weights/`` is a safetensors file of a ``state_dict``; its SHA-256
is recorded in ``SHA256`` and checked before the weights are used. Its metadata says which zoo
model it belongs to (``model``, ``model_config``), the data set, the test accuracy
measured on the full test split and the command that trained it (docs/models.md lists them;
docs/results.md has the logs). ``tools/ship_weights.py RUN NAME`` makes one from a run folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..io import load, load_metadata
from .zoo import ZOO

__all__ = [
    "PRETRAINED",
    "SHA256",
    "WEIGHTS_DIR",
    "pretrained",
    "pretrained_info",
    "pretrained_path",
]

WEIGHTS_DIR = Path(__file__).parent / "weights"

PRETRAINED = {  # name -> what it is
    "mlp-mnist": "the zerograd train default, a 784-256-10 MLP, trained on MNIST",
    "simple-cnn-mnist": "SimpleConvNet trained on MNIST",
    "deep-cnn-mnist": "DeepConvNet trained on MNIST with random shifts and rotations",
    "deep-cnn-bn-fashion": "DeepConvNet with batch norm and a 256-unit head, on Fashion-MNIST",
    "char-lstm-shakespeare": "CharLSTM (2 x LSTM(384)) on tiny-shakespeare, weights in float16",
}

SHA256 = {  # name -> the SHA-256 of its file, checked before the weights are used
    "mlp-mnist": "433a559ec2e82e98e835bee34c77442c9e981226469bcb28639dc0fa2c0c1b00",
    "simple-cnn-mnist": "b295e14d390bab5b790bb35215840a35c464d87b8f6698e84f89fd307f3183ae",
    "deep-cnn-mnist": "7ab81ba622893551596f907b3647ddadad3e713deb4329d585b24efb7e0678cc",
    "char-lstm-shakespeare": "066f40f0f596b18ee89da61c28eb264a517c72b329cbb0e17fef1b86f6deb5f9",
    "deep-cnn-bn-fashion": "89a789aa2d2219f6d162d38bb5afe519e70a241c00aa099e0d5f4601961686bc",
}


def _path(name: str) -> Path:
    if name not in PRETRAINED:
        raise ValueError(
            f"pretrained: no weights named {name!r}; the package ships {', '.join(PRETRAINED)}."
        )
    path = WEIGHTS_DIR / f"{name}.safetensors"
    if not path.exists():
        raise FileNotFoundError(
            f"pretrained: {path} is missing from this installation; reinstall zerograd "
            "(pip install .) or train the model with zerograd train."
        )
    return path


def _verified(name: str) -> Path:
    """The weights' path after checking the file's SHA-256 against the one recorded here."""
    path = _path(name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[name]:
        raise ValueError(
            f"pretrained: {path} has SHA-256 {digest}, not the {SHA256[name]} shipped: the file "
            "is damaged or was replaced. Reinstall zerograd (pip install --force-reinstall .)."
        )
    return path


def pretrained_path(name: str) -> Path:
    """The file of shipped weights ``name``, its SHA-256 checked (for ``load_language_model``)."""
    return _verified(name)


def pretrained_info(name: str) -> dict:
    """The metadata of shipped weights ``name``: model, model_config, dataset, command, and
    test_accuracy for the classifiers (val_loss, vocab for the language model).

    Examples
    --------
    >>> info = pretrained_info("simple-cnn-mnist")
    >>> info["model"], info["dataset"], float(info["test_accuracy"]) > 0.988
    ('simple-cnn', 'mnist', True)
    """
    meta = load_metadata(_path(name))
    meta["model_config"] = json.loads(meta["model_config"])
    return meta


def pretrained(name: str):
    """The zoo model of shipped weights ``name``, with those weights (cast to the model's dtype:
    the language model is stored in float16), in eval mode.

    Examples
    --------
    >>> model = pretrained("simple-cnn-mnist")
    >>> type(model).__name__, model.training
    ('SimpleConvNet', False)
    """
    info = pretrained_info(name)
    model = ZOO[info["model"]][0](**info["model_config"])
    model.load_state_dict(load(_verified(name)))
    return model.eval()
