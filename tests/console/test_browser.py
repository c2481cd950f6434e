"""The console in a real browser (headless Chromium through chromedriver) against a running
service with both emulators: sign-in, queue health as workers stop and start, a dead letter
replayed from the page after a dry run, connector logs, and a phone-width layout.

Screenshots of each page go to the test's folder, and to ``$FIELDLINE_SCREENSHOTS`` when set
(``docs/console/`` holds the ones the docs show). CI installs Debian's ``chromium`` and
``chromium-driver`` (``.ci/run``); elsewhere the test skips, saying so, when they are absent.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fieldline.cli import cli
from fieldline.config import Secret
from fieldline.plugins.manager import get_plugin_manager
from fieldline.queue.jobs import JobState
from fieldline.service.admin_auth import AdminAccess
from fieldline.service.app import ServiceSettings
from fieldline.service.context import ServiceContext, open_context
from fieldline.service.worker import WorkerSettings
from fieldline.spec.loader import load_spec
from fieldline.testing.server import serve_in_thread
from tests.conftest import REPO_ROOT
from tests.e2e.harness import SPEC_FILE, Emulators, running_emulators
from tests.waiting import PATIENCE, wait_until

TOKEN = "browser-test-operator-token-0123456789"
EXAMPLES = REPO_ROOT / "mappings" / "examples"
STALLED_AFTER = 300.0  # seconds, by the queue's clock, which the test moves on

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if (CHROMIUM is None or CHROMEDRIVER is None) and not os.environ.get("CI"):
        pytest.skip("no chromium/chromedriver: `apt-get install chromium chromium-driver` to run this test")
    assert CHROMIUM is not None, "CI installs chromium (.ci/run)"
    assert CHROMEDRIVER is not None, "CI installs chromium-driver (.ci/run)"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # the machine's network is closed: no calls home
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Service_:
    url: str
    context: ServiceContext
    emulators: Emulators
    stop_workers: threading.Event
    threads: list[threading.Thread]
    clock: ShiftedClock

    def start_workers(self) -> None:
        self.stop_workers = threading.Event()
        self.threads = self.context.start_workers(1, self.stop_workers, prefix="browser")

    def halt_workers(self) -> None:
        self.stop_workers.set()
        for thread in self.threads:
            thread.join(timeout=PATIENCE)

    def counts(self) -> dict[JobState, int]:
        return dict(self.context.queue.status().counts)

    def wait_idle(self) -> None:
        """Every webhook delivered and every job settled (a write back's echo included)."""
        for _ in range(2):
            self.emulators.pf.wait_delivered(timeout=PATIENCE)
            wait_until(lambda: not self.context.queue.status().waiting, what="an idle queue")


class ShiftedClock:
    """The wall clock, moved on by the test: what "stalled" is measured against."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service_]:
    with ExitStack() as stack:
        emulators = stack.enter_context(running_emulators())
        manager = get_plugin_manager()
        spec = load_spec(SPEC_FILE, plugin_manager=manager)
        context = open_context(
            spec,
            f"sqlite:///{tmp_path / 'fieldline.db'}?max_attempts=1",
            plugin_manager=manager,
            worker_settings=WorkerSettings(poll_interval=0.05, budget_pause=0.5),
        )
        stack.callback(context.close)
        clock = ShiftedClock()
        context.queue.clock = clock  # type: ignore[attr-defined]  # SQLite's queue takes its clock
        app = context.create_app(
            workers=0,  # the test starts and stops workers itself
            service_settings=ServiceSettings(stalled_after=STALLED_AFTER),
            admin=AdminAccess(token=Secret(TOKEN)),
            console=True,
        )
        url = stack.enter_context(serve_in_thread(app))
        emulators.pf.configure_delivery(deliver_to=f"{url}/webhooks/passfort")
        running = Service_(url, context, emulators, threading.Event(), [], clock)
        stack.callback(running.halt_workers)
        yield running


def first_application(service: Service_) -> str:
    pf = service.emulators.pf
    profile = pf.profile(pf.profile_ids()[0])
    assert profile is not None
    return str(profile["applications"][0]["id"])


def shot(driver: Any, folder: Path, name: str) -> None:
    driver.save_screenshot(str(folder / f"{name}.png"))
    wanted = os.environ.get("FIELDLINE_SCREENSHOTS")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(wanted) / f"{name}.png"))


def wait_for(driver: Any, condition: Any, what: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, PATIENCE, poll_frequency=0.05).until(condition, message=what)


def card(driver: Any) -> tuple[str, str]:
    """The PassFort card's health and text, read in one script: the page replaces its cards
    every few seconds, so an element found first may be gone when read."""
    found = driver.execute_script(
        "const card = document.getElementById('card-passfort');"
        " return card ? [card.dataset.health, card.innerText] : ['', ''];"
    )
    return str(found[0]), str(found[1])


def card_health(driver: Any) -> str:
    return card(driver)[0]


def test_console_in_a_browser(browser: Any, service: Service_, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    # Sign-in is required; the token is typed into the form.
    driver.get(f"{service.url}/ui/")
    assert "/ui/login" in driver.current_url
    shot(driver, tmp_path, "login")
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "form.stacked button").click()
    wait_for(driver, lambda d: d.current_url.endswith("/ui/"), "the overview after signing in")
    wait_for(driver, lambda d: card_health(d) == "empty", "the overview's card (the page may still load)")
    assert "Empty" in card(driver)[1]
    shot(driver, tmp_path, "overview-empty")

    # Workers run: an event is applied and the queue stays Empty.
    application_id = first_application(service)
    service.start_workers()
    service.emulators.pf.set_status(application_id, "APPROVED")
    wait_until(lambda: service.counts().get(JobState.DONE, 0) >= 1, what="the first event applied")
    service.wait_idle()

    # The test stops the workers: the next event waits (Refresh shows it), then, once it is
    # older than stalled_after by the queue's clock, the queue stalls; the page updates itself.
    service.halt_workers()
    service.emulators.pf.set_flag(application_id, "MANUAL_REVIEW")
    wait_until(lambda: service.context.queue.status().waiting == 1, what="the event queued")
    driver.find_element(By.ID, "refresh").click()
    wait_for(driver, lambda d: card_health(d) == "waiting", "Waiting after Refresh")
    assert "Waiting 1" in card(driver)[1]
    service.clock.advance(STALLED_AFTER + 1)
    wait_for(driver, lambda d: card_health(d) == "stalled", "Stalled on the overview")
    assert "Stalled" in card(driver)[1]
    shot(driver, tmp_path, "overview-stalled")

    # Workers start again: the queue drains and the card says Empty again.
    service.start_workers()
    wait_for(driver, lambda d: card_health(d) == "empty", "Empty again once workers run")
    assert service.counts().get(JobState.DONE, 0) >= 2

    # Salesforce is down: the next event becomes a dead letter (one attempt allowed).
    service.emulators.sf.set_faults(unavailable_next=1000, retry_after=0)
    service.emulators.pf.set_status(application_id, "REJECTED")
    wait_until(lambda: service.counts().get(JobState.DEAD) == 1, what="a dead letter")
    service.emulators.sf.set_faults(unavailable_next=0)
    driver.get(f"{service.url}/ui/dead-letters")
    rows = driver.find_elements(By.CSS_SELECTOR, "#dead-letters tbody tr")
    assert len(rows) == 1
    assert "PRODUCT_STATUS_CHANGED" in rows[0].text
    shot(driver, tmp_path, "dead-letters")

    # Dry run first: the plan under the current spec, nothing changed yet.
    driver.find_element(By.ID, "preview-all").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "replay-confirm"), "the dry-run page, whole")
    assert "Replay: dry run" in driver.find_element(By.TAG_NAME, "h1").text
    assert "Rejected" in driver.find_element(By.TAG_NAME, "main").text
    assert service.counts().get(JobState.DEAD) == 1
    shot(driver, tmp_path, "replay-dry-run")

    driver.find_element(By.ID, "replay-confirm").click()
    wait_for(driver, lambda d: "Requeued 1 dead letter" in d.page_source, "the replay's message")
    wait_until(
        lambda: not service.counts().get(JobState.DEAD) and not service.context.queue.status().waiting,
        what="the replayed event applied",
    )
    driver.get(f"{service.url}/ui/dead-letters")
    assert driver.find_elements(By.ID, "no-dead-letters")
    applications = {
        record["Application_ID__c"]: record
        for record in service.emulators.sf.records("PassFort_Application__c")
    }
    assert applications[application_id]["Status__c"] == "Rejected"

    # Connector logs show the outage and the replayed write.
    driver.get(f"{service.url}/ui/logs")
    outcomes = {row.get_attribute("class") for row in driver.find_elements(By.CSS_SELECTOR, "#log tbody tr")}
    assert {"outcome-dead", "outcome-update"} <= outcomes
    shot(driver, tmp_path, "connector-logs")

    # A `fieldline sync` run over the same storage shows in the connector logs, each record's
    # fields as the plan decided them.
    examples = tmp_path / "examples"
    shutil.copytree(EXAMPLES, examples)
    result = CliRunner().invoke(
        cli, ["sync", str(examples / "profiles-to-files.yaml"), "--db", str(tmp_path / "fieldline.db")]
    )
    assert result.exit_code == 0, result.output
    driver.get(f"{service.url}/ui/runs")
    rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
    specs = [row.find_elements(By.TAG_NAME, "td")[1].text.split()[0] for row in rows]
    assert specs[0] == "profiles-to-files", "newest first"
    assert "passfort-salesforce" in specs, "the service's batches are runs too"
    shot(driver, tmp_path, "connector-runs")
    rows[0].find_element(By.TAG_NAME, "a").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "records"), "the run's records")
    driver.find_element(By.CSS_SELECTOR, "#records details summary").click()
    assert "(missing) →" in driver.find_element(By.ID, "records").text
    shot(driver, tmp_path, "connector-run")

    # A phone's width: nothing wider than the screen.
    driver.set_window_size(390, 844)
    driver.get(f"{service.url}/ui/")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    shot(driver, tmp_path, "overview-phone")
