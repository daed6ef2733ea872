"""Files: safetensors weights, PyTorch .pt weights read safely, atomic writes, checkpoints.

- ``save`` / ``load`` / ``load_metadata`` / ``load_into``: the safetensors format, read and written
  with NumPy alone; loading validates the whole file and never runs code (``weights.py``).
- ``load_pytorch`` / ``load_pytorch_into``: the tensors of a PyTorch ``torch.save(state_dict)``
  file (``.pt`` / ``.pth``), read with NumPy alone through an allow-list unpickler that runs no
  code and refuses pickled models and any other object (``torch_pt.py``).
- ``atomic_write``: the one way the library writes a file: whole or not at all (``atomic.py``).
- ``save_checkpoint`` / ``load_checkpoint``: model, optimizer, scheduler, epoch, RNG state and
  your own values in one safetensors file, to resume training bit for bit (``checkpoint.py``).
"""

from .atomic import atomic_write
from .checkpoint import load_checkpoint, save_checkpoint
from .torch_pt import load_pytorch, load_pytorch_into
from .weights import load, load_into, load_metadata, save

__all__ = [
    "atomic_write",
    "save",
    "load",
    "load_metadata",
    "load_into",
    "load_pytorch",
    "load_pytorch_into",
    "save_checkpoint",
    "load_checkpoint",
]
