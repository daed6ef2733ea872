"""zerograd.models: the zoo (the course's networks), built from zerograd.nn.

``create(name, **config)`` builds a model by the name ``zerograd train --model`` uses;
``ZOO`` maps each name to its class, default config and a line describing it;
``IMAGE_MODELS`` are the names that classify 28 x 28 images (what ``zerograd train`` trains)
(``zoo.py``); ``pretrained(name)`` loads shipped weights (``hub.py``); the zoo's ONNX
converters register themselves with ``zerograd.onnx`` (``onnx_converters.py``).
"""

from . import onnx_converters  # noqa: F401 (registers the zoo's ONNX converters)
from .cnn import DeepConvNet, LeNet5, SimpleConvNet
from .gpt import GPT, SinusoidalPositionalEncoding
from .hub import PRETRAINED, pretrained, pretrained_info, pretrained_path
from .mlp import MLP
from .recurrent import CharLSTM, RowLSTM, generate, load_language_model, save_language_model
from .zoo import IMAGE_MODELS, ZOO, create

__all__ = [
    "MLP",
    "SimpleConvNet",
    "LeNet5",
    "DeepConvNet",
    "RowLSTM",
    "CharLSTM",
    "GPT",
    "SinusoidalPositionalEncoding",
    "generate",
    "save_language_model",
    "load_language_model",
    "ZOO",
    "IMAGE_MODELS",
    "create",
    "PRETRAINED",
    "pretrained",
    "pretrained_info",
    "pretrained_path",
]
