from fieldline.planning.compare import *
from fieldline.planning.evaluation import *
from fieldline.planning.intents import *
from fieldline.planning.overlay import *
from fieldline.planning.planner import *
from fieldline.planning.plans import *
