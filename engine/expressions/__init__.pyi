from fieldline.expressions.compiled import *
from fieldline.expressions.functions import *
from fieldline.expressions.normalizers import *
