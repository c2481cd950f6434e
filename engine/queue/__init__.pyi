from fieldline.queue.jobs import *
from fieldline.queue.run_store import *
from fieldline.queue.storage import *
from fieldline.queue.sync_runs import *

__all__: list[str]
