from fieldline.sync.adapter_builder import *
from fieldline.sync.connector_log import *
from fieldline.sync.runner import *

__all__: list[str]
