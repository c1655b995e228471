#!/usr/bin/env python3
"""Assembles bench-results/results.json and README-performance.md from one scripts/bench.sh run.

    python3 scripts/bench/report.py bench-results

Inputs (all in the given directory): machine.json, criterion/<group>/<name>/new/estimates.json,
node-qr.json (optional), loadgen.jsonl, rss.json, server-checks.json, metrics-after.txt.
Every figure is shown as a ratio to its baseline measured in the same run where one exists
(bcrypt floor, idle /healthz, node qrcode), otherwise as a ratio to its target.
"""

import json
import os
import sys
from pathlib import Path


def load_json(path, default=None):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def criterion_mean_ns(out, group, name):
    est = load_json(out / "criterion" / group / name / "new" / "estimates.json")
    if not est:
        return None
    return est["mean"]["point_estimate"]


def metrics(path):
    values = {}
    try:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                parts = line.split()
                if len(parts) == 2:
                    try:
                        values[parts[0]] = float(parts[1])
                    except ValueError:
                        pass
    except OSError:
        pass
    return values


def fmt(x, digits=2):
    if x is None:
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def verdict(ok):
    if ok is None:
        return "n/a"
    return "**yes**" if ok else "**NO**"


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bench-results")
    machine = load_json(out / "machine.json", {})
    rss = load_json(out / "rss.json", {})
    checks = load_json(out / "server-checks.json", {})
    node = load_json(out / "node-qr.json")
    phases = {}
    try:
        for line in (out / "loadgen.jsonl").read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("{"):
                obj = json.loads(line)
                phases[obj.get("phase")] = obj
    except OSError:
        pass
    noise = []
    try:
        for line in (out / "noise.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("{"):
                noise.append(json.loads(line))
    except (OSError, ValueError):
        pass
    m = metrics(out / "metrics-after.txt")
    cores = int(machine.get("cores", os.cpu_count() or 1))

    bcrypt_ns = criterion_mean_ns(out, "bcrypt", "verify_cost10")
    qr_ns = criterion_mean_ns(out, "qr", "png_data_url")
    parse_ns = criterion_mean_ns(out, "import", "parse_10000_rows")
    totp_ns = criterion_mean_ns(out, "totp", "check")
    bcrypt_ms = bcrypt_ns / 1e6 if bcrypt_ns else None
    qr_ms = qr_ns / 1e6 if qr_ns else None
    parse_ms = parse_ns / 1e6 if parse_ns else None
    totp_us = totp_ns / 1e3 if totp_ns else None

    logins = phases.get("logins", {})
    one = phases.get("logins_one_account", {})
    twofa = phases.get("logins_2fa", {})
    twofa_factor = twofa.get("secondFactor", {})
    twofa_mfa = twofa_factor.get("mfaLatency", {})
    twofa_health = phases.get("logins_2fa:healthz_under_login_load", {})
    idle = phases.get("healthz_idle", {})
    health = phases.get("healthz_under_login_load", {})
    verify = phases.get("verify", {})
    setup = phases.get("setup", {})

    rows = []  # (key, label, value, unit, baseline_label, ratio, ratio_label, target_label, ok)

    floor = cores / (bcrypt_ms / 1000) if bcrypt_ms else None
    lps = logins.get("loginsPerSec")
    r = lps / floor if (lps is not None and floor) else None
    rows.append(dict(
        key="logins_vs_bcrypt_floor",
        label="Password sign-ins (API-3) per second",
        value=lps, unit="/s",
        baseline=floor,
        baseline_label=f"bcrypt floor {fmt(floor, 1)}/s = {cores} cores / {fmt(bcrypt_ms)} ms per cost-10 verify",
        ratio=r, ratio_label=f"{fmt(r)} of floor",
        target="ratio >= 0.85", ok=(r >= 0.85) if r is not None else None,
    ))

    ops = one.get("loginsPerSec")
    r = ops / floor if (ops is not None and floor) else None
    one_statuses = one.get("statuses", {})
    refused = sum(v for k, v in one_statuses.items() if k != "200")
    rows.append(dict(
        key="logins_one_account_vs_bcrypt_floor",
        label=f"Password sign-ins per second, all {one.get('concurrency', 'n/a')} clients on one account",
        value=ops, unit="/s",
        baseline=floor,
        baseline_label=f"bcrypt floor {fmt(floor, 1)}/s",
        ratio=r, ratio_label=f"{fmt(r)} of floor; {refused} not 200",
        target="ratio >= 0.85, every answer 200",
        ok=(r >= 0.85 and refused == 0) if r is not None else None,
    ))

    # Password + second step, on the same employees and clients as `logins`, against the same
    # bcrypt floor (the second step adds no bcrypt) and against the password-only phase.
    tps = twofa.get("loginsPerSec")
    r = tps / floor if (tps is not None and floor) else None
    twofa_refused = twofa.get("errors")
    rows.append(dict(
        key="logins_2fa_vs_bcrypt_floor",
        label="Sign-ins with the second factor (API-3 + /auth/mfa) per second",
        value=tps, unit="/s",
        baseline=floor,
        baseline_label=f"bcrypt floor {fmt(floor, 1)}/s",
        ratio=r, ratio_label=f"{fmt(r)} of floor; {fmt(twofa_refused, 0)} not full tokens",
        target="ratio >= 0.85", ok=(r >= 0.85) if r is not None else None,
    ))
    r = tps / lps if (tps is not None and lps) else None
    rows.append(dict(
        key="logins_2fa_vs_password_only",
        label="Sign-ins with the second factor, against password-only sign-ins",
        value=tps, unit="/s",
        baseline=lps,
        baseline_label=f"password-only sign-ins {fmt(lps, 1)}/s (same employees and clients)",
        ratio=r, ratio_label=f"{fmt(r)} of password-only",
        target="none (for reading the floor ratio)", ok=None,
    ))

    r = (totp_us / 1000) / bcrypt_ms if (totp_us is not None and bcrypt_ms) else None
    rows.append(dict(
        key="totp_check",
        label="TOTP check: open the sealed secret + match a code within +-1 step",
        value=totp_us, unit=" µs",
        baseline=bcrypt_ms,
        baseline_label=f"one bcrypt cost-10 verify {fmt(bcrypt_ms)} ms",
        ratio=r, ratio_label=(f"{r:.5f} of a bcrypt verify; {fmt(totp_us / 1000, 3)} of the 1 ms budget"
                              if r is not None else "n/a"),
        target="<= 1 ms", ok=(totp_us <= 1000) if totp_us is not None else None,
    ))

    hp99 = health.get("p99Ms")
    ip99 = idle.get("p99Ms")
    r = hp99 / ip99 if (hp99 is not None and ip99) else None
    rows.append(dict(
        key="healthz_p99_under_login_load",
        label="/healthz p99 while sign-ins saturate hashing",
        value=hp99, unit=" ms",
        baseline=ip99,
        baseline_label=f"idle /healthz p99 {fmt(ip99, 3)} ms",
        ratio=r, ratio_label=f"{fmt(r, 1)}x idle; {fmt(hp99 / 10 if hp99 is not None else None)} of the 10 ms budget",
        target="<= 10 ms", ok=(hp99 <= 10) if hp99 is not None else None,
    ))

    node_ms = node.get("meanMs") if node else None
    r = node_ms / qr_ms if (node_ms and qr_ms) else None
    rows.append(dict(
        key="qr_speedup_vs_node",
        label="QR data URL, 107-char URL (version 7, level M)",
        value=qr_ms, unit=" ms",
        baseline=node_ms,
        baseline_label=(f"node qrcode {node.get('qrcode')} toDataURL {fmt(node_ms, 3)} ms" if node
                        else "node/npm missing: not measured"),
        ratio=r, ratio_label=f"{fmt(r, 1)}x faster" if r else "n/a",
        target=">= 10x", ok=(r >= 10) if r is not None else None,
    ))

    vps = verify.get("redemptionsPerSec")
    r = vps / 500 if vps is not None else None
    rows.append(dict(
        key="verify_per_sec",
        label=f"One-time token redemptions (API-2) per second, concurrency {verify.get('concurrency', 'n/a')}",
        value=vps, unit="/s",
        baseline=None, baseline_label="none (absolute target)",
        ratio=r, ratio_label=f"{fmt(r)} of target",
        target=">= 500/s", ok=(vps >= 500) if vps is not None else None,
    ))

    vp99 = verify.get("p99Ms")
    r = vp99 / 50 if vp99 is not None else None
    rows.append(dict(
        key="verify_p99",
        label="One-time token redemption p99",
        value=vp99, unit=" ms",
        baseline=None, baseline_label="none (absolute target)",
        ratio=r, ratio_label=f"{fmt(r)} of budget",
        target="<= 50 ms", ok=(vp99 <= 50) if vp99 is not None else None,
    ))

    idle_mib = rss.get("idleRssKb", 0) / 1024 if rss.get("idleRssKb") else None
    r = idle_mib / 30 if idle_mib is not None else None
    rows.append(dict(
        key="idle_rss",
        label="Idle RSS (VmRSS, 2 s after start)",
        value=idle_mib, unit=" MiB",
        baseline=None, baseline_label="none (absolute target)",
        ratio=r, ratio_label=f"{fmt(r)} of budget",
        target="<= 30 MB", ok=(idle_mib <= 30) if idle_mib is not None else None,
    ))

    def signins(outcome):
        return m.get('staffgate_signins_total{outcome="%s"}' % outcome)

    server_5xx = m.get('http_requests_total{status_class="5xx"}')
    results = {
        "machine": machine,
        "parameters": os.environ.get("BENCH_PARAMS", ""),
        "summary": [
            {k: row[k] for k in ("key", "label", "value", "unit", "baseline", "baseline_label",
                                  "ratio", "target", "ok")}
            for row in rows
        ],
        "criterion": {
            "bcryptVerifyCost10Ms": bcrypt_ms,
            "qrPngDataUrlMs": qr_ms,
            "importParse10000RowsMs": parse_ms,
            "importRowsPerSec": (10000 / (parse_ms / 1000)) if parse_ms else None,
            "totpCheckUs": totp_us,
        },
        "nodeQr": node,
        "loadgen": phases,
        "rss": rss,
        "otherLoad": noise,
        "server": {
            **checks,
            "http5xxTotal": server_5xx,
            "httpRequestsTotal": m.get("http_request_duration_seconds_count"),
            "http4xxTotal": m.get('http_requests_total{status_class="4xx"}'),
            "loginsSucceeded": signins("ok"),
            "loginsFailed": signins("failed"),
            "loginsLocked": signins("locked"),
            "loginsRateLimited": signins("rate_limited"),
            "loginsDeferred": signins("deferred"),
            "transactionRetries": m.get("staffgate_db_transaction_retries_total"),
            "tokensIssued": m.get("staffgate_onetime_tokens_issued_total"),
            "tokensRedeemed": m.get("staffgate_onetime_tokens_redeemed_total"),
        },
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")

    md = []
    md.append("# staffgate — performance run\n")
    md.append(f"Date (UTC): {machine.get('date_utc', 'n/a')} · commit {machine.get('git_rev', 'n/a')}"
              f"{' (with uncommitted changes)' if machine.get('git_dirty') == 'true' else ''}\n")
    md.append("| machine | |\n|---|---|")
    md.append(f"| cores (nproc) | {machine.get('cores', 'n/a')} |")
    md.append(f"| CPU | {machine.get('cpu_model', 'n/a')} |")
    md.append(f"| memory | {machine.get('mem_total', 'n/a')} |")
    md.append(f"| MariaDB | {machine.get('mariadb_version', 'n/a')} |")
    md.append(f"| kernel | {machine.get('kernel', 'n/a')} |")
    md.append(f"| rustc | {machine.get('rustc_version', 'n/a')} |")
    md.append(f"| node | {machine.get('node_version', 'n/a')} |")
    md.append("")
    md.append(f"Parameters: `{os.environ.get('BENCH_PARAMS', '')}`. Server: release build, bcrypt "
              f"cost 10, hashing threads = cores, one process, MariaDB on the same machine; "
              "the load generator runs on the same cores too.\n")
    md.append("## Summary: each figure against its same-run baseline\n")
    md.append("| measurement | result | baseline (same run) | ratio | target | met |")
    md.append("|---|---|---|---|---|---|")
    for row in rows:
        val = f"{fmt(row['value'], 3 if row['unit'] == ' ms' else 1)}{row['unit']}" \
            if row["value"] is not None else "n/a"
        md.append(f"| {row['label']} | {val} | {row['baseline_label']} | {row['ratio_label']} | "
                  f"{row['target']} | {verdict(row['ok'])} |")
    md.append("")
    md.append("## Details\n")
    md.append("| what | value |\n|---|---|")
    md.append(f"| bcrypt cost-10 verify (criterion mean) | {fmt(bcrypt_ms, 2)} ms |")
    md.append(f"| QR data URL, Rust (criterion mean) | {fmt(qr_ms, 3)} ms |")
    if node:
        md.append(f"| QR data URL, node qrcode {node.get('qrcode')} (mean / p50 / p99 of "
                  f"{node.get('iterations')}) | {fmt(node.get('meanMs'), 3)} / {fmt(node.get('p50Ms'), 3)} / "
                  f"{fmt(node.get('p99Ms'), 3)} ms |")
    md.append(f"| CSV import parse, 10,000 rows (criterion mean) | {fmt(parse_ms, 1)} ms "
              f"({fmt(results['criterion']['importRowsPerSec'], 0)} rows/s) |")
    md.append(f"| setup: employees given a password via token + change-password | "
              f"{setup.get('prepared', 'n/a')} prepared, {setup.get('failed', 'n/a')} failed, "
              f"{fmt(setup.get('elapsedS'), 1)} s |")
    md.append(f"| sign-ins: concurrency / measured seconds | {logins.get('concurrency', 'n/a')} / "
              f"{logins.get('durationS', 'n/a')} s (after {logins.get('warmupS', 'n/a')} s warm-up) |")
    md.append(f"| sign-ins: ok / errors / statuses | {logins.get('ok', 'n/a')} / {logins.get('errors', 'n/a')} / "
              f"`{json.dumps(logins.get('statuses', {}))}` |")
    md.append(f"| sign-in latency p50 / p99 / max | {fmt(logins.get('p50Ms'), 1)} / "
              f"{fmt(logins.get('p99Ms'), 1)} / {fmt(logins.get('maxMs'), 1)} ms |")
    md.append(f"| one account: ok / errors / statuses | {one.get('ok', 'n/a')} / {one.get('errors', 'n/a')} / "
              f"`{json.dumps(one.get('statuses', {}))}` |")
    md.append(f"| one account: sign-in latency p50 / p99 / max | {fmt(one.get('p50Ms'), 1)} / "
              f"{fmt(one.get('p99Ms'), 1)} / {fmt(one.get('maxMs'), 1)} ms |")
    md.append(f"| TOTP check, open sealed secret + match within +-1 step (criterion mean) | "
              f"{fmt(totp_us, 1)} µs |")
    md.append(f"| 2FA sign-ins: enrolment before the run | {twofa_factor.get('enrolledEmployees', 'n/a')} "
              f"employees in {fmt(twofa_factor.get('enrolmentS'), 1)} s (not measured) |")
    md.append(f"| 2FA sign-ins: ok / errors / statuses of the last call | {twofa.get('ok', 'n/a')} / "
              f"{twofa.get('errors', 'n/a')} / `{json.dumps(twofa.get('statuses', {}))}` |")
    md.append(f"| 2FA sign-ins: by authenticator code / by recovery code / waits for a fresh step | "
              f"{twofa_factor.get('byTotp', 'n/a')} / {twofa_factor.get('byRecoveryCode', 'n/a')} / "
              f"{twofa_factor.get('waitsForStep', 'n/a')} |")
    md.append(f"| 2FA sign-in latency (password + code) p50 / p99 / max | {fmt(twofa.get('p50Ms'), 1)} / "
              f"{fmt(twofa.get('p99Ms'), 1)} / {fmt(twofa.get('maxMs'), 1)} ms |")
    md.append(f"| POST /auth/mfa alone p50 / p99 / max ({twofa_factor.get('mfaCalls', 'n/a')} calls) | "
              f"{fmt(twofa_mfa.get('p50Ms'), 1)} / {fmt(twofa_mfa.get('p99Ms'), 1)} / "
              f"{fmt(twofa_mfa.get('maxMs'), 1)} ms |")
    md.append(f"| /healthz under 2FA sign-in load p50 / p99 / max | {fmt(twofa_health.get('p50Ms'), 3)} / "
              f"{fmt(twofa_health.get('p99Ms'), 3)} / {fmt(twofa_health.get('maxMs'), 3)} ms |")
    md.append(f"| /healthz idle p50 / p99 / max ({idle.get('probes', 'n/a')} probes) | "
              f"{fmt(idle.get('p50Ms'), 3)} / {fmt(idle.get('p99Ms'), 3)} / {fmt(idle.get('maxMs'), 3)} ms |")
    md.append(f"| /healthz under sign-in load p50 / p99 / max ({health.get('probes', 'n/a')} probes, "
              f"{health.get('errors', 'n/a')} errors) | {fmt(health.get('p50Ms'), 3)} / "
              f"{fmt(health.get('p99Ms'), 3)} / {fmt(health.get('maxMs'), 3)} ms |")
    md.append(f"| token issuing (API-1, admin, incl. QR) | {verify.get('issued', 'n/a')} in "
              f"{fmt(verify.get('issueS'), 1)} s = {fmt(verify.get('issuedPerSec'), 1)}/s, "
              f"{verify.get('issueFailed', 'n/a')} failed |")
    md.append(f"| redemptions: ok / non-200 / statuses | {verify.get('redeemed', 'n/a')} / "
              f"{verify.get('non200', 'n/a')} / `{json.dumps(verify.get('statuses', {}))}` |")
    md.append(f"| redemption latency p50 / p99 / max | {fmt(verify.get('p50Ms'), 1)} / "
              f"{fmt(verify.get('p99Ms'), 1)} / {fmt(verify.get('maxMs'), 1)} ms |")
    md.append(f"| RSS idle / after load / peak (VmHWM) | {fmt(rss.get('idleRssKb', 0) / 1024, 1)} / "
              f"{fmt(rss.get('afterLoadRssKb', 0) / 1024, 1)} / {fmt(rss.get('peakRssKb', 0) / 1024, 1)} MiB "
              f"({rss.get('idleThreads', 'n/a')} threads idle) |")
    md.append(f"| server 5xx responses (from /metrics) | {fmt(server_5xx, 0)} |")
    md.append(f"| sign-ins failed / locked / rate-limited / deferred; transaction retries (from /metrics) | "
              f"{fmt(signins('failed'), 0)} / {fmt(signins('locked'), 0)} / "
              f"{fmt(signins('rate_limited'), 0)} / {fmt(signins('deferred'), 0)}; "
              f"{fmt(m.get('staffgate_db_transaction_retries_total'), 0)} |")
    md.append(f"| panics / ERROR lines in the server log | {checks.get('panics', 'n/a')} / "
              f"{checks.get('errorLogLines', 'n/a')} |")
    for n in noise:
        md.append(f"| machine load {n.get('phase')}: loadavg / other rustc processes | "
                  f"{n.get('loadavg')} / {n.get('rustcProcesses')} |")
    md.append("")
    md.append("How to read it: the sign-in floor is what the cores could do if they did nothing but "
              "bcrypt; 1.0 would mean HTTP, JSON, MySQL, JWT signing and the load generator itself "
              "cost nothing. Ratios without a same-run baseline are given against their target. "
              "Raw numbers: `results.json`, `loadgen.jsonl`, `node-qr.json`, `criterion/`. "
              "Reproduce with `scripts/bench.sh`.\n")
    (out / "README-performance.md").write_text("\n".join(md), encoding="utf-8")


if __name__ == "__main__":
    main()
