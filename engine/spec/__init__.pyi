from fieldline.spec.against_target import *
from fieldline.spec.json_schema import *
from fieldline.spec.loader import *
from fieldline.spec.model import *
