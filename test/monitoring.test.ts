/**
 * deploy/monitoring: the alert rules pass Debian's `promtool check rules` (plain file and
 * PrometheusRule alike, and equal), the dashboard is a Grafana dashboard by @grafana/schema's
 * model, every PromQL expression in it parses, and every labd metric the two name is one labd
 * really exposes on /metrics.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { afterAll as after, beforeAll as before, describe, test } from 'vitest';
import { freePort, KeyLab, ROOT, run } from './support/labd.ts';
import { InProcessLabd } from './support/labd-inprocess.ts';
import { until } from './support/wait.ts';

const DIR = join(ROOT, 'deploy/monitoring');
const PROMTOOL = 'promtool';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface Target {
  expr: string;
  refId: string;
}
interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
}

const rulesFile = () => parseYaml(readFileSync(join(DIR, 'labd.rules.yml'), 'utf8')) as RuleFile;
const dashboard = () =>
  JSON.parse(readFileSync(join(DIR, 'labd-dashboard.json'), 'utf8')) as { uid: string; panels: DashboardPanel[]; templating: { list: { name: string }[] } };

/** Grafana's variables, as Prometheus would see them once Grafana filled them in. */
const filled = (expr: string) => expr.replace(/\$instance\b/g, '.*');

function promtoolCheck(file: string): void {
  const r = run(PROMTOOL, ['check', 'rules', file]);
  assert.equal(r.status, 0, `${PROMTOOL} check rules ${file}:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /SUCCESS: \d+ rules found/);
}

/** labd metric names an expression uses (histogram series mapped to their family). */
function metricsOf(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(labd_[a-z0-9_]+)\b/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, '')))];
}

describe('deploy/monitoring alert rules', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'labd-rules-'));
  after(async () => rmSync(tmp, { recursive: true, force: true }));

  test('the plain rules file passes promtool check rules and holds the alerts labd needs', async () => {
    promtoolCheck(join(DIR, 'labd.rules.yml'));
    const alerts = rulesFile().groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const name of ['LabdDown', 'LabdAuthFailureSpike', 'LabdOutboxStuck', 'LabdAlertmanagerUnreachable', 'LabdKubernetesUnreachable'])
      assert.ok(alerts.includes(name), name);
  });

  test('the PrometheusRule carries the same groups, and they pass promtool too', async () => {
    const doc = parseYaml(readFileSync(join(DIR, 'prometheusrule.yaml'), 'utf8')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: RuleFile;
    };
    assert.equal(doc.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(doc.kind, 'PrometheusRule');
    assert.deepEqual(doc.spec, rulesFile());
    const file = join(tmp, 'from-prometheusrule.yml');
    writeFileSync(file, stringify(doc.spec));
    promtoolCheck(file);
  });

  test('a broken expression is caught (the check can fail)', async () => {
    const file = join(tmp, 'broken.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum(rate(labd_auth_attempts_total[5m])' }] }] }));
    assert.notEqual(run(PROMTOOL, ['check', 'rules', file]).status, 0);
  });
});

describe('deploy/monitoring dashboard', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'labd-dashboard-'));
  after(async () => rmSync(tmp, { recursive: true, force: true }));

  test("is a Grafana dashboard by @grafana/schema's model (tsc checks it as an object literal: types and unknown keys)", async () => {
    // Inside node_modules so that tsc resolves @grafana/schema as labd's own code does; never committed.
    const dir = join(ROOT, 'node_modules', '.labd-dashboard-check');
    mkdirSync(dir, { recursive: true });
    try {
      const json = readFileSync(join(DIR, 'labd-dashboard.json'), 'utf8');
      writeFileSync(join(dir, 'check.ts'), `import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = ${json};\n`);
      writeFileSync(
        join(dir, 'bad.ts'),
        `import type { Dashboard } from '@grafana/schema';\nexport const dashboard: Dashboard = { title: 'x', graphTooltip: 'shared', panells: [] };\n`,
      );
      const opts = ['--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck'];
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      const good = run(process.execPath, [tsc, ...opts, join(dir, 'check.ts')]);
      assert.equal(good.status, 0, good.stdout + good.stderr);
      const bad = run(process.execPath, [tsc, ...opts, join(dir, 'bad.ts')]);
      assert.notEqual(bad.status, 0, 'a wrong dashboard must fail the same check');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('panels have unique ids, sit on the 24-column grid, and every query has an expression', async () => {
    const d = dashboard();
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const p of d.panels) {
      assert.ok(p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24, p.title);
      if (p.type === 'row') continue;
      assert.ok(p.targets?.length, `${p.title} has queries`);
      for (const t of p.targets!) assert.ok(t.expr.trim(), `${p.title} ${t.refId}`);
    }
    const titles = d.panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const want of ['sessions', 'authentication', 'command rate', 'latency', 'errors', 'outbox', 'alert groups', 'memory', 'event-loop lag'])
      assert.match(titles, new RegExp(want));
    assert.deepEqual(
      d.templating.list.map((v) => v.name),
      ['datasource', 'instance'],
    );
  });

  test('every expression in the dashboard parses (promtool, as recording rules)', async () => {
    const exprs = dashboard().panels.flatMap((p) => (p.targets ?? []).map((t) => filled(t.expr)));
    const file = join(tmp, 'dashboard-exprs.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `labd:dashboard_expr_${i}`, expr })) }] }));
    promtoolCheck(file);
  });
});

describe('the metrics the rules and dashboard name are exposed by labd', () => {
  const lab = new KeyLab();
  let labd: InProcessLabd;
  before(async () => {
    // Alertmanager configured but down: labd_backend_up appears (0) once the first check ran.
    labd = await InProcessLabd.start({
      adminKeys: [lab.publicKey(lab.key('admin'))],
      env: { LABD_ALERTMANAGER_URL: `http://127.0.0.1:${await freePort()}`, LABD_WEBHOOK_TOKEN: 'a-token-of-16-chars-or-more' },
    });
  });
  after(async () => {
    await labd.stop();
    lab.cleanup();
  });

  test('every labd_* name is a metric family on /metrics, and the state gauges have samples', async () => {
    const scrape = () => fetch(`http://127.0.0.1:${labd.httpPort}/metrics`).then((r) => r.text());
    const text = await until('labd_backend_up in /metrics', async () => {
      const t = await scrape();
      return /^labd_backend_up\{backend="alertmanager"\} 0$/m.test(t) && t;
    });
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const named = new Set<string>();
    for (const g of rulesFile().groups) for (const r of g.rules) for (const m of metricsOf(r.expr)) named.add(m);
    for (const p of dashboard().panels) for (const t of p.targets ?? []) for (const m of metricsOf(t.expr)) named.add(m);
    assert.ok(named.size >= 12, [...named].join(' '));
    const missing = [...named].filter((m) => !families.has(m));
    assert.deepEqual(missing, []);
    assert.match(text, /^labd_outbox_depth 0$/m);
    assert.match(text, /^labd_outbox_oldest_age_seconds 0$/m);
    assert.match(text, /^labd_alert_groups\{state="firing"\} 0$/m);
    assert.match(text, /^labd_backend_configured\{backend="kubernetes"\} 0$/m);
    assert.match(text, /^labd_backend_configured\{backend="alertmanager"\} 1$/m);
    assert.match(text, /^labd_nodejs_eventloop_lag_p99_seconds \d/m);
  });
});
