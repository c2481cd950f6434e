from fieldline.sync.adapter_builder import *
from fieldline.sync.replay import *
from fieldline.sync.runner import *

__all__: list[str]
