from fieldline.lookups.answering import *
from fieldline.lookups.auth import *
from fieldline.lookups.directory import *
from fieldline.lookups.finder import *
from fieldline.lookups.log_privacy import *
from fieldline.lookups.stats import *

__all__: list[str]
