"""zerograd.utils: tools around training that are not part of a model, as ``torch.utils`` is.

- ``zerograd.utils.tensorboard.SummaryWriter``: ``torch.utils.tensorboard.SummaryWriter``'s names
  and arguments, writing TensorBoard event files through tensorboardX (the optional extra
  ``pip install "zerograd[tensorboard]"``). It is imported on its own, like PyTorch's, so this
  package imports without the extra.
"""

__all__: list = []
