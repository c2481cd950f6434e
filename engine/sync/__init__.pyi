from fieldline.sync.adapter_builder import *
from fieldline.sync.connector_log import *
from fieldline.sync.replay import *
from fieldline.sync.runner import *
from fieldline.sync.selection import *
from fieldline.sync.tenants import *

__all__: list[str]
