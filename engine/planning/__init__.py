"""The pure planner: spec x documents -> intents; intents x existing records -> plan. No I/O."""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
