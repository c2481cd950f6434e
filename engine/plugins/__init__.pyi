from fieldline.plugins.hookspecs import *
from fieldline.plugins.manager import *
