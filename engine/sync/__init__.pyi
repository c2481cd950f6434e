from fieldline.sync.adapter_builder import *
from fieldline.sync.runner import *
