from fieldline.console.data import *
from fieldline.console.pages import *
from fieldline.console.sessions import *
from fieldline.console.standalone import *

__all__: list[str]
