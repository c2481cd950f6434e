from fieldline.queue.jobs import *
from fieldline.queue.run_store import *
from fieldline.queue.storage import *
