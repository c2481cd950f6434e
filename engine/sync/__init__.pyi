from fieldline.sync.adapter_builder import *
from fieldline.sync.runner import *
from fieldline.sync.tenants import *

__all__: list[str]
