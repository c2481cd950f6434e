from fieldline.testing.memory import MemorySource as MemorySource, MemoryTarget as MemoryTarget
from fieldline.testing.queue_suite import (
    get_queue_state_machine as get_queue_state_machine,
    get_queue_test_class as get_queue_test_class,
)
from fieldline.testing.server import serve_in_thread as serve_in_thread
from fieldline.testing.source_suite import get_source_test_class as get_source_test_class
from fieldline.testing.target_suite import get_target_test_class as get_target_test_class
from fieldline.testing.webhook_suite import (
    WebhookRequest as WebhookRequest,
    get_webhook_source_test_class as get_webhook_source_test_class,
)

__all__: list[str]
