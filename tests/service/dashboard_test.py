#!/usr/bin/env python3
"""The dashboard page in a real browser (headless Chromium through Selenium): it loads
without a console error, shows an empty service calmly, fills the procedures table and the
charts once requests are served, asks for a token on 401 and uses the one typed in, and
says so when the server goes away.  Screenshots at 1280x800 and in a narrow window go to
the output directory and their paths are printed.

Usage: dashboard_test.py OUTDIR stub STUB_SCRIPT ASSET_DIR
       dashboard_test.py OUTDIR serve PROVOST SOURCE_DIR
Exits 77 (skipped) when Chromium, its driver or Selenium is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:
    print("skipped: python3-selenium is not installed")
    sys.exit(77)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HANG = 60  # seconds after which a wait is a hang, not a slow machine


def fail(msg):
    raise AssertionError(msg)


def wait_for(what, probe):
    """Polls probe() until it returns something true; a hang guard, not a timing check."""
    deadline = time.monotonic() + HANG
    last = None
    while time.monotonic() < deadline:
        try:
            last = probe()
            if last:
                return last
        except Exception as e:  # the DOM may be between two renders
            last = e
        time.sleep(0.1)
    fail("waited in vain for %s (last: %r)" % (what, last))


class Server:
    """A server process started by the test, stopped whatever happens."""

    def __init__(self, argv, env=None, cwd=None):
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env, cwd=cwd)
        self.stderr = []
        line = b""
        while b"listening on" not in line:
            line = self.proc.stderr.readline()
            if not line:
                fail("the server exited before listening (%s): %s"
                     % (self.proc.wait(), b"".join(self.stderr).decode(errors="replace")))
            self.stderr.append(line)
        self.base = line.decode().split("listening on ", 1)[1].strip().rstrip("/")
        # what the server logs later is read as it comes, so that it never blocks on a full pipe
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=HANG)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def post(self, path, body=b"", token=None):
        req = urllib.request.Request(self.base + path, data=body, method="POST")
        req.add_header("Content-Type", "application/xml")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=HANG) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,800", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def console(driver, allowed_network=()):
    """The browser log since the last call; fails on any script error or warning, and on
    any network error but those named (a 401 or a server down are states the page shows)."""
    bad = []
    for e in driver.get_log("browser"):
        if e.get("level") not in ("SEVERE", "WARNING"):
            continue
        msg = e.get("message", "")
        if e.get("source") == "network" and any(a in msg for a in allowed_network):
            continue
        bad.append(e)
    if bad:
        fail("console errors: %s" % json.dumps(bad, indent=1))


def table_rows(driver, table):
    rows = []
    for tr in driver.find_elements(By.CSS_SELECTOR, "#%s tbody tr" % table):
        rows.append([c.text for c in tr.find_elements(By.CSS_SELECTOR, "th, td")])
    return rows


def status(driver):
    el = driver.find_element(By.ID, "status")
    return el.get_attribute("data-state"), el.text


COLOURED_PIXELS = """
const c = document.getElementById(arguments[0]);
if (!c.width || !c.height) return 0;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let n = 0;
for (let i = 0; i < d.length; i += 4) {
  const mx = Math.max(d[i], d[i+1], d[i+2]), mn = Math.min(d[i], d[i+1], d[i+2]);
  if (d[i+3] > 0 && mx - mn > 60) n++;   // a series' colour, not the grey of grid and labels
}
return n;"""


def check_assets(base, asset_dir):
    """The page and its assets: their types, a strict Content-Security-Policy, caching
    headers, the bytes of the source files, and 304 for a copy the browser has."""
    for path, name, ctype in (("/", "index.html", "text/html"), ("/dashboard.js", "dashboard.js", "text/javascript"),
                              ("/dashboard.css", "dashboard.css", "text/css")):
        with urllib.request.urlopen(base + path, timeout=HANG) as r:
            h = r.headers
            with open(os.path.join(asset_dir, name), "rb") as f:
                if r.read() != f.read():
                    fail("%s is not %s as it is in the source" % (path, name))
            if not h.get("Content-Type", "").startswith(ctype):
                fail("%s: Content-Type %r" % (path, h.get("Content-Type")))
            csp = h.get("Content-Security-Policy", "")
            if "script-src 'self'" not in csp or "default-src 'none'" not in csp or "unsafe" in csp:
                fail("%s: Content-Security-Policy %r" % (path, csp))
            if not h.get("Cache-Control"):
                fail("%s: no Cache-Control" % path)
            if h.get("X-Content-Type-Options") != "nosniff":
                fail("%s: no X-Content-Type-Options: nosniff" % path)
            etag = h.get("ETag")
        if etag:
            req = urllib.request.Request(base + path, headers={"If-None-Match": etag})
            try:
                urllib.request.urlopen(req, timeout=HANG)
                fail("%s: If-None-Match with its ETag is not answered 304" % path)
            except urllib.error.HTTPError as e:
                if e.code != 304:
                    fail("%s: If-None-Match with its ETag answered %d" % (path, e.code))


def stats_status(base):
    try:
        with urllib.request.urlopen(base + "/stats", timeout=HANG) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def run(outdir, asset_dir, start, calls):
    """start(token) -> Server (token None: anonymous; else a server that wants a token,
    whose right one is in server.token, or None when it cannot be made); calls(server)
    sends requests and returns {(namespace, procedure): number of calls} the page must
    then show."""
    os.makedirs(outdir, exist_ok=True)
    driver = browser()
    servers = []
    try:
        srv = start(None)
        servers.append(srv)
        check_assets(srv.base, asset_dir)
        if stats_status(srv.base) == 404:
            # A service built without GET /stats: the page is served, runs without a
            # script error and says what it got.
            driver.get(srv.base + "/")
            wait_for("the 404 of /stats reported", lambda: status(driver)[0] == "error"
                     and "404" in status(driver)[1])
            shot = os.path.join(outdir, "dashboard.png")
            driver.save_screenshot(shot)
            print("screenshot:", shot)
            console(driver, allowed_network=("/stats",))
            print("this service has no GET /stats: only the page itself was checked")
            return

        # An empty service: the page loads without an error and says there is nothing yet.
        driver.get(srv.base + "/")
        wait_for("the first poll", lambda: status(driver)[0] == "ok")
        if not driver.find_element(By.ID, "auth").get_attribute("hidden"):
            fail("the token form shows although the service needs no token")
        if table_rows(driver, "procedures") != [["No procedure has been called yet."]]:
            fail("an empty service shows procedures: %r" % table_rows(driver, "procedures"))
        console(driver)

        # Requests served: the table and the charts show them.
        expect = calls(srv)
        def table_shows():
            rows = {(r[0], r[1]): r for r in table_rows(driver, "procedures") if len(r) == 9}
            return (status(driver)[0] == "ok" and
                    all(k in rows and rows[k][2] == "{:,}".format(n) for k, n in expect.items()))
        wait_for("the procedures table to show the calls", table_shows)
        keys = ["%s/%s" % k for k in sorted(expect)]
        def chart_shows():
            c = driver.find_element(By.ID, "chart-rate")
            series = (c.get_attribute("data-series") or "").split(" ")
            # two polls of each procedure at least: lines, not only points
            return (all(k in series for k in keys) and int(c.get_attribute("data-points") or 0) >= 2 * len(keys)
                    and driver.execute_script(COLOURED_PIXELS, "chart-rate") > 0
                    and driver.execute_script(COLOURED_PIXELS, "chart-p99") > 0)
        wait_for("the charts to draw the procedures", chart_shows)
        failed = sum(n for (ns, proc), n in expect.items() if proc.startswith("Fail"))
        wait_for("the failures by code to count the failed calls", lambda: sum(
            int(r[1].replace(",", "")) for r in table_rows(driver, "failures") if len(r) == 2) == failed)
        legend = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#legend li")]
        if sorted(legend) != keys:
            fail("legend %r, expected %r" % (legend, keys))
        shot = os.path.join(outdir, "dashboard.png")
        driver.save_screenshot(shot)
        print("screenshot:", shot)

        # Answers the page cannot use (the stand-in only): nothing it knows, then not JSON.
        if getattr(srv, "breakable", False):
            srv.post("/stub/empty")
            wait_for("an empty document shown as empty", lambda: status(driver)[0] == "ok"
                     and table_rows(driver, "procedures") == [["No procedure has been called yet."]])
            srv.post("/stub/garbage")
            wait_for("an answer that is not JSON reported", lambda: status(driver)[0] == "error"
                     and "JSON" in status(driver)[1])
            srv.post("/stub/normal")
            wait_for("the page to recover", table_shows)
            console(driver)

        # A narrow window: one column, nothing wider than the window.
        driver.set_window_size(420, 900)
        wait_for("the narrow layout", lambda: driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"))
        shot = os.path.join(outdir, "dashboard-narrow.png")
        driver.save_screenshot(shot)
        print("screenshot:", shot)
        driver.set_window_size(1280, 800)
        console(driver)

        # The server goes away: the page says so and keeps what it showed.
        srv.stop()
        wait_for("the connection error", lambda: status(driver)[0] == "error")
        if not any(len(r) == 9 for r in table_rows(driver, "procedures")):
            fail("the table emptied when the server went away")
        console(driver, allowed_network=("/stats",))

        # A service that needs a token: the page asks, refuses a wrong one, uses a right one.
        srv = start("token")
        servers.append(srv)
        driver.get(srv.base + "/")
        wait_for("the token request", lambda: status(driver)[0] == "auth"
                 and not driver.find_element(By.ID, "auth").get_attribute("hidden"))
        if not srv.token:
            field = driver.find_element(By.ID, "token")
            field.send_keys("wrong-token")
            field.submit()
            wait_for("the token refused", lambda: "refused" in status(driver)[1])
            console(driver, allowed_network=("/stats",))
            print("no token could be made: only a refused token was checked")
            return
        for token, state in (("wrong-token", "auth"), (srv.token, "ok")):
            field = driver.find_element(By.ID, "token")
            field.send_keys(token)
            field.submit()
            wait_for("the page to use the token", lambda: status(driver)[0] == state
                     and (state == "auth") == ("refused" in status(driver)[1]))
        if driver.execute_script("return sessionStorage.getItem('provost.token')") != srv.token:
            fail("the token is not kept in sessionStorage")
        driver.refresh()
        wait_for("a poll with the kept token", lambda: status(driver)[0] == "ok")
        driver.find_element(By.ID, "token-show").click()
        driver.find_element(By.ID, "token-forget").click()
        wait_for("the page to ask again once the token is forgotten", lambda: status(driver)[0] == "auth")
        if driver.execute_script("return sessionStorage.getItem('provost.token')") is not None:
            fail("the forgotten token is still in sessionStorage")
        console(driver, allowed_network=("/stats",))
    finally:
        driver.quit()
        for s in servers:
            s.stop()


def stub_mode(outdir, stub, assets):
    def start(token):
        argv = [sys.executable, stub, assets] + (["--token", "right-token"] if token else [])
        srv = Server(argv)
        srv.token = "right-token" if token else None
        srv.breakable = True
        return srv

    def calls(srv):
        expect = {("users", "Create"): 3, ("users", "Delete"): 1, ("users", "FailSet"): 2}
        for (ns, proc), n in expect.items():
            for _ in range(n):
                srv.post("/call/%s/%s" % (ns, proc))
        return expect
    run(outdir, assets, start, calls)


NAMESPACE = """<namespace name="T" providerSource="test">
  <procedure name="Echo" type="read" access="public"/>
  <procedure name="Fail" type="read" access="public"/>
</namespace>
"""


def serve_mode(outdir, provost, source):
    """A real provost serve on a database of its own, with the test provider's namespace."""
    tmp = tempfile.mkdtemp(prefix="provost-dashboard-")
    env = dict(os.environ, PROVOST_DB=os.path.join(tmp, "db"))

    def provost_run(*args):
        return subprocess.run([provost] + list(args), env=env, capture_output=True, text=True)
    try:
        with open(os.path.join(tmp, "ns.xml"), "w") as f:
            f.write(NAMESPACE)
        for args in (("register", os.path.join(tmp, "ns.xml")), ("user", "add", "operator")):
            r = provost_run(*args)
            if r.returncode != 0:
                fail("provost %s: %s" % (" ".join(args), r.stderr))

        def start(token):
            right = None
            if token:
                r = provost_run("token", "create", "--user", "operator")
                right = r.stdout.strip().split()[-1] if r.returncode == 0 and r.stdout.strip() else None
            argv = [provost, "serve", "--listen", "127.0.0.1:0"] + ([] if token else ["--allow-anonymous", "operator"])
            srv = Server(argv, env=env)
            srv.token = right
            return srv

        def calls(srv):
            expect = {("T", "Echo"): 3, ("T", "Fail"): 2}
            for (ns, proc), n in expect.items():
                for _ in range(n):
                    got = srv.post("/call/%s/%s" % (ns, proc), b"<data/>")
                    if got != (200 if proc == "Echo" else 422):
                        fail("POST /call/%s/%s answered %d" % (ns, proc, got))
            return expect
        run(outdir, os.path.join(source, "service", "dashboard"), start, calls)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not (os.access(CHROMIUM, os.X_OK) and os.access(DRIVER, os.X_OK)):
        print("skipped: chromium or chromium-driver is not installed")
        sys.exit(77)
    outdir, mode = sys.argv[1], sys.argv[2]
    if mode == "stub":
        stub_mode(outdir, sys.argv[3], sys.argv[4])
    elif mode == "serve":
        serve_mode(outdir, sys.argv[3], sys.argv[4])
    else:
        fail("unknown mode %s" % mode)
    print("dashboard: ok")


if __name__ == "__main__":
    main()
