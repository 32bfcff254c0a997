"""JupyterLab 4 in headless Chromium, in gateway mode against our gateway: what a user does and sees.

A real `jupyter server` with the JupyterLab extension (the same process model as
test_jupyter_server.py) serves the UI; Chromium (Debian's `chromium` + `chromium-driver`, driven by
selenium) opens a notebook, runs cells with the keyboard, answers `input()` in the stdin box, types a
new cell, interrupts a running cell and restarts the kernel from the toolbar. Every kernel involved lives in our gateway:
the cells print the `KERNEL_ID` the gateway gave the kernel, and the gateway's REST API is asked what
it saw. `scripts/setup.sh` installs the browser; without it these tests fail rather than skip.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from helpers import free_port, pid_alive, wait_until
from procs import JupyterServer

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
UI_TIMEOUT = 60  # seconds: a kernel start plus a page load on a loaded 2-core machine, with margin

NOTEBOOK_CELLS = [
    "import os\nprint('kernel', os.environ['KERNEL_ID'], 'answers', 6 * 7)",
    "name = input('who? ')\nprint('hello', name)",
]


def notebook_json(cells: list[str]) -> str:
    return json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {},
                   "outputs": [], "source": src} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    })


@pytest.fixture
def lab_server(gw, tmp_path, log_dir):
    root = tmp_path / "lab-root"
    (root / "work").mkdir(parents=True)
    (root / "work" / "browser.ipynb").write_text(notebook_json(NOTEBOOK_CELLS))
    js = JupyterServer(gw, root, log_dir, token="lab-token")
    try:
        js.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield js
    for session in js.rest.get("api/sessions").json():
        js.rest.delete(f"api/sessions/{session['id']}", timeout=30)
    js.stop()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), \
        "chromium / chromium-driver missing: run scripts/setup.sh"
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER, port=free_port(),
                      log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(UI_TIMEOUT)
    try:
        yield driver
    finally:
        try:  # what the page looked like at the end, for a failing run (pytest's tmp dir)
            driver.save_screenshot(str(tmp_path / "page-at-end.png"))
        finally:
            driver.quit()


class LabPage:
    """The few JupyterLab gestures the tests need, by the UI's own selectors and keys."""

    def __init__(self, driver, js: JupyterServer):
        self.driver, self.js = driver, js

    def open_notebook(self, path: str, gw) -> dict:
        """Open a notebook; return the gateway's model of the kernel JupyterLab started for it."""
        before = {k["id"] for k in gateway_kernels(gw)}
        self.driver.get(f"{self.js.http_url}/lab/tree/{path}?token={self.js.token}")
        self.wait_for(lambda: self.cells(), "the notebook's cells")

        def new_connected_kernel():
            fresh = [k for k in gateway_kernels(gw) if k["id"] not in before]
            assert len(fresh) <= 1, f"JupyterLab started more than one kernel for one notebook: {fresh}"
            return fresh[0] if fresh and fresh[0]["connections"] >= 1 else None

        kernel = self.wait_for(new_connected_kernel, "JupyterLab's kernel in the gateway, with its WebSocket")
        self.wait_for(lambda: self.kernel_status() == "Idle", "the kernel to be idle in the page")
        return kernel

    def open_and_run_one_cell(self, name: str, source: str, gw) -> dict:
        """Write `work/<name>` with one code cell, open it, and run that cell; return the kernel's model."""
        (self.js.root_dir / "work" / name).write_text(notebook_json([source]))
        kernel = self.open_notebook(f"work/{name}", gw)
        self.select_cell(0)
        self.run_selected()
        return kernel

    def wait_for(self, predicate, what: str, timeout: float = UI_TIMEOUT):
        return wait_until(predicate, timeout, 0.2, what=what)

    def cells(self):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell.jp-CodeCell")

    def kernel_status(self) -> str:
        """The notebook toolbar's kernel status, e.g. 'Idle' or 'Busy' (the indicator's own text)."""
        return self.driver.execute_script("""
            const el = document.querySelector('.jp-Notebook-ExecutionIndicator');
            const m = el ? el.textContent.match(/Kernel status: (\\w+)/) : null;
            return m ? m[1] : '';""") or ""

    def outputs(self, index: int) -> str:
        from selenium.webdriver.common.by import By

        cell = self.cells()[index]
        return "\n".join(o.text for o in cell.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))

    def select_cell(self, index: int):
        """Command mode on cell `index` (a click on its prompt area, not its editor)."""
        from selenium.webdriver.common.by import By

        self.cells()[index].find_element(By.CSS_SELECTOR, ".jp-InputPrompt").click()

    def type_into(self, index: int, text: str):
        """Click into cell `index`'s editor (edit mode) and type `text` as keystrokes."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.action_chains import ActionChains

        editor = self.cells()[index].find_element(By.CSS_SELECTOR, ".cm-content")
        editor.click()
        ActionChains(self.driver).send_keys(text).perform()
        self.wait_for(lambda: self.cells()[index].find_element(By.CSS_SELECTOR, ".cm-content").text == text,
                      f"the typed text in cell {index + 1}")

    def run_selected(self):
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()

    def click_toolbar(self, command: str):
        from selenium.webdriver.common.by import By

        self.driver.find_element(
            By.CSS_SELECTOR, f".jp-NotebookPanel-toolbar [data-command='{command}']").click()


def gateway_kernels(gw) -> list[dict]:
    r = gw.rest.get("api/kernels")
    assert r.status_code == 200, r.text
    return r.json()


def test_jupyterlab_runs_a_notebook_on_our_kernel(gw, lab_server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    lab = LabPage(browser, lab_server)
    kernel = lab.open_notebook("work/browser.ipynb", gw)
    assert kernel["name"] == "python3"

    # Cell 1: output proves the kernel is the gateway's (its KERNEL_ID) and arrived in the page.
    lab.select_cell(0)
    lab.run_selected()
    text = lab.wait_for(lambda: lab.outputs(0), "cell 1's output")
    assert f"kernel {kernel['id']} answers 42" in text

    # Cell 2: input() shows JupyterLab's stdin box; the answer travels over the stdin channel.
    lab.run_selected()  # the selection moved to cell 2
    box = lab.wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".jp-Stdin-input"), "the stdin box")[0]
    box.send_keys("browser", Keys.ENTER)
    assert "hello browser" in lab.wait_for(lambda: "hello" in lab.outputs(1) and lab.outputs(1), "cell 2's output")

    # A cell typed by the user: running the last cell left a fresh cell below it.
    lab.wait_for(lambda: len(lab.cells()) == 3, "a new cell below the last one")
    lab.wait_for(lambda: lab.kernel_status() == "Idle", "the kernel to be idle again")
    lab.type_into(2, "6 * 7 + 1000")
    lab.run_selected()
    assert "1042" in lab.wait_for(lambda: lab.outputs(2), "the typed cell's output")

    model = gw.rest.get(f"api/kernels/{kernel['id']}").json()
    assert model["connections"] >= 1, model
    assert model["execution_state"] == "idle", model


def test_jupyterlab_interrupts_a_running_cell(gw, lab_server, browser):
    lab = LabPage(browser, lab_server)
    kernel = lab.open_and_run_one_cell("sleepy.ipynb", "import time\nprint('sleeping', flush=True)\ntime.sleep(120)", gw)
    lab.wait_for(lambda: "sleeping" in lab.outputs(0), "the cell to start sleeping")
    assert lab.kernel_status() == "Busy"

    t0 = time.monotonic()
    lab.click_toolbar("notebook:interrupt-kernel")
    lab.wait_for(lambda: "KeyboardInterrupt" in lab.outputs(0), "the KeyboardInterrupt traceback", timeout=30)
    assert time.monotonic() - t0 < 30
    lab.wait_for(lambda: lab.kernel_status() == "Idle", "the kernel to be idle after the interrupt")

    # The same kernel survived the interrupt and answers the next cell.
    lab.wait_for(lambda: len(lab.cells()) == 2, "a new cell below the interrupted one")
    lab.type_into(1, "40 + 2")
    lab.run_selected()
    assert "42" in lab.wait_for(lambda: lab.outputs(1), "the next cell's output")
    model = gw.rest.get(f"api/kernels/{kernel['id']}").json()
    assert model["execution_state"] == "idle", model


def test_jupyterlab_restarts_the_kernel_in_place(gw, lab_server, browser):
    from selenium.webdriver.common.by import By

    lab = LabPage(browser, lab_server)
    kernel = lab.open_and_run_one_cell("restart.ipynb", "import os\nprint('pid', os.getpid())", gw)
    before = lab.wait_for(lambda: lab.outputs(0), "the first pid")

    # Toolbar restart, confirmed in JupyterLab's dialog.
    lab.click_toolbar("notebook:restart-kernel")
    accept = lab.wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept"),
                          "the restart dialog")[0]
    accept.click()
    lab.wait_for(lambda: not browser.find_elements(By.CSS_SELECTOR, ".jp-Dialog"), "the dialog to close")
    lab.wait_for(lambda: lab.kernel_status() == "Idle", "the restarted kernel to be idle")

    lab.select_cell(0)
    lab.run_selected()
    after = lab.wait_for(lambda: lab.outputs(0) if lab.outputs(0) != before else None, "the pid after the restart")
    assert before.startswith("pid ") and after.startswith("pid ") and after != before, (before, after)
    # Restart keeps the kernel id in the gateway: one kernel, the same one, now a new process.
    ids = [k["id"] for k in gateway_kernels(gw)]
    assert kernel["id"] in ids, ids
    old_pid = int(before.split()[1])
    wait_until(lambda: not pid_alive(old_pid), 15, 0.2, what="the old kernel process to be gone")
