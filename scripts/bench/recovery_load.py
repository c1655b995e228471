#!/usr/bin/env python3
"""Load for scripts/bench/recovery.sh: four threads sign in continuously and one asks /readyz
every 100 ms, until 10 s after the file <out>'s drill marks the database as back
(`back-N.flag` beside it). Writes every answer (start time, path, status, latency) to <out>.

Environment: RECOVERY_BASE_URL, RECOVERY_PASSWORD, RECOVERY_STAFF (accounts R0001..).
"""

import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

OUT = sys.argv[1]
FLAG = OUT.replace("drill-", "back-").replace(".json", ".flag")
BASE = os.environ["RECOVERY_BASE_URL"]
PASSWORD = os.environ["RECOVERY_PASSWORD"]
STAFF = int(os.environ["RECOVERY_STAFF"])
AFTER_BACK = 10.0
TIMEOUT = 30.0

answers = []
lock = threading.Lock()
stop = threading.Event()


def ask(path, req):
    t = time.time()
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as res:
            status = res.status
    except urllib.error.HTTPError as e:
        status = e.code
    except Exception:  # refused, reset or timed out: no HTTP answer at all
        status = 0
    with lock:
        answers.append({"t": t, "path": path, "status": status, "ms": (time.time() - t) * 1000})


def signer(n):
    i = n
    while not stop.is_set():
        body = json.dumps({"employeeId": f"R{1 + i % STAFF:04d}", "password": PASSWORD}).encode()
        req = urllib.request.Request(
            f"{BASE}/api/v2/auth/authenticate", data=body,
            headers={"Content-Type": "application/json"}, method="POST")
        ask("signin", req)
        i += 4


def ready():
    while not stop.is_set():
        ask("readyz", urllib.request.Request(f"{BASE}/readyz"))
        time.sleep(0.1)


threads = [threading.Thread(target=signer, args=(n,)) for n in range(4)]
threads.append(threading.Thread(target=ready))
for th in threads:
    th.start()
while not os.path.exists(FLAG):
    time.sleep(0.05)
time.sleep(AFTER_BACK)
stop.set()
for th in threads:
    th.join()

back = int(open(FLAG.replace(".flag", "")).read()) / 1e9
down = int(open(FLAG.replace("back-", "down-").replace(".flag", "")).read()) / 1e9
by_status = {}
for a in answers:
    if down <= a["t"] < back:
        by_status[str(a["status"])] = by_status.get(str(a["status"]), 0) + 1
json.dump({"answers": answers, "by_status_during": by_status}, open(OUT, "w"))
bad = [a for a in answers if a["status"] in (0, 500)]
print(f"{len(answers)} answers, {len(bad)} with status 0 or 500", file=sys.stderr)
