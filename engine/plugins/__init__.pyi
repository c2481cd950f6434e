from fieldline.plugins.hookspecs import *
from fieldline.plugins.manager import *

__all__: list[str]
