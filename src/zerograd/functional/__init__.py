"""zerograd.functional (imported as ``F``): every differentiable op.

Each op is a ``Function`` subclass with ``forward``/``backward`` on raw arrays (read the class for
the formula) plus a lower-case wrapper that checks its arguments: ``F.relu``, ``F.cross_entropy``.
Importing this package also binds Tensor's operators and methods (``tensor_methods``).
"""

from . import tensor_methods  # noqa: F401  (binds Tensor's operators)
from .activations import *  # noqa: F401,F403
from .activations import __all__ as _act
from .arithmetic import *  # noqa: F401,F403
from .arithmetic import __all__ as _ar
from .attention import *  # noqa: F401,F403
from .attention import __all__ as _at
from .conv import *  # noqa: F401,F403
from .conv import __all__ as _cv
from .indexing import *  # noqa: F401,F403
from .indexing import __all__ as _ix
from .layers import *  # noqa: F401,F403
from .layers import __all__ as _ly
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _ls
from .norm import *  # noqa: F401,F403
from .norm import __all__ as _nm
from .padding import *  # noqa: F401,F403
from .padding import __all__ as _pd
from .pointwise import *  # noqa: F401,F403
from .pointwise import __all__ as _pw
from .pooling import *  # noqa: F401,F403
from .pooling import __all__ as _pl
from .recurrent import *  # noqa: F401,F403
from .recurrent import __all__ as _rc
from .reduce import *  # noqa: F401,F403
from .reduce import __all__ as _rd
from .shape import *  # noqa: F401,F403
from .shape import __all__ as _sh
from .sparse import *  # noqa: F401,F403
from .sparse import __all__ as _sp

__all__ = _act + _ar + _at + _cv + _ix + _pd + _pl + _ly + _ls + _nm + _pw + _rc + _rd + _sh + _sp
